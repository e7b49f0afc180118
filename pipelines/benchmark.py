"""`benchmark --what=input`: images/s of the pipeline, its decode+resize floor and the
Python-side baseline, on the same files."""

from __future__ import annotations

import dataclasses
import itertools
import time

import tensorflow as tf

from pipelines import decode, schema
from pipelines.augment import AugmentConfig
from pipelines.dataset import PARSE_CHUNK, InputConfig, InputPipeline
from pipelines.python_loader import PythonWordLoader
from pipelines.tfrecord_files import expand_patterns
from textscanner.charset import Charset


@dataclasses.dataclass(frozen=True)
class InputBenchmarkConfig:
    data: str
    batch_size: int = 32
    steps: int = 300
    warmup_steps: int = 30  # also covers XLA compiling the per-batch function
    augment: bool = False
    python_steps: int = 5


def _rate(batches, batch_size: int, steps: int, warmup: int) -> float:
    iterator = iter(batches)
    for _ in range(warmup):
        next(iterator)
    start = time.perf_counter()
    for _ in range(steps):
        next(iterator)
    return steps * batch_size / (time.perf_counter() - start)


def floor_dataset(files: list[str], batch_size: int, chunked: bool) -> tf.data.Dataset:
    """Read + decode + resize only, with the pipeline's parallelism: per record, or (as the
    pipeline does) on chunks of records parsed together."""
    def load(encoded):  # per image what the pipeline does per image
        return decode.resize_image(decode.decode_rgb(encoded))

    ds = tf.data.Dataset.from_tensor_slices(files).repeat()
    ds = ds.interleave(tf.data.TFRecordDataset, cycle_length=min(8, len(files)),
                       num_parallel_calls=tf.data.AUTOTUNE)
    features = {schema.IMAGE: schema.FEATURES[schema.IMAGE]}
    if chunked:
        def load_chunk(serialized):
            return tf.map_fn(load, tf.io.parse_example(serialized, features)[schema.IMAGE],
                             fn_output_signature=tf.float32)

        ds = ds.batch(PARSE_CHUNK).map(load_chunk, num_parallel_calls=tf.data.AUTOTUNE)
        ds = ds.rebatch(batch_size, drop_remainder=True)
    else:
        ds = ds.map(lambda r: load(tf.io.parse_single_example(r, features)[schema.IMAGE]),
                    num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size, drop_remainder=True)
    options = tf.data.Options()
    options.deterministic = False
    return ds.prefetch(tf.data.AUTOTUNE).with_options(options)


def benchmark_input(config: InputBenchmarkConfig, charset: Charset) -> dict:
    files = expand_patterns(config.data)
    pipeline = InputPipeline(InputConfig(
        config.data, global_batch_size=config.batch_size, is_training=True,
        augment=AugmentConfig() if config.augment else None), charset)
    full = _rate(pipeline(), config.batch_size, config.steps, config.warmup_steps)
    # The floor is the faster of the two ways to read and decode: the ratio never flatters.
    floor = max(_rate(floor_dataset(files, config.batch_size, chunked), config.batch_size,
                      config.steps, config.warmup_steps) for chunked in (False, True))
    needed = config.batch_size * (config.python_steps + 1)
    records = list(itertools.islice(schema.read_records(files, repeat=True), needed))
    loader = PythonWordLoader(records, charset, config.batch_size)
    python = _rate((loader[i] for i in range(len(loader))), config.batch_size,
                   config.python_steps, 1)
    return {"what": "input", "images_per_second": round(full, 1),
            "floor_images_per_second": round(floor, 1),
            "ratio_to_floor": round(full / floor, 3),
            "python_loader_images_per_second": round(python, 1),
            "ratio_to_python_loader": round(full / python, 1),
            "augment": config.augment, "batch_size": config.batch_size,
            "steps": config.steps, "files": len(files)}

"""`demo`: synth -> train the small backbone for a bounded time -> evaluate on held-out
words -> export -> predict a few image files. Everything on this machine, in minutes."""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import os
import shutil
import time

import keras

from loops import pretrained
from loops.config import OptimizerConfig, RuntimeConfig, TrainConfig
from loops.evaluation import evaluate_dataset, format_samples, format_table
from loops.flops import train_flops_per_image
from loops.model_io import (SavedModelReader, export_saved_model, load_spec,
                            recognizer_from_checkpoint)
from loops.options import precision_name
from loops.predict import predict_files
from loops.strategies import machine_precision
from loops.trainer import Trainer
from pipelines import schema
from pipelines.augment import AugmentConfig
from pipelines.synth import SynthConfig, write_synth
from textscanner.charset import Charset, load_charset
from textscanner.config import RECIPE_INPUT_HEIGHT, RECIPE_INPUT_WIDTH, LossConfig, ModelConfig

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class DemoConfig:
    workdir: str = "demo_workdir"
    train_samples: int = 12000
    eval_samples: int = 500
    # Training stops at whichever comes first: the steps that `max_train_tflops` of compute
    # allow (or `train_steps`, if set and fewer), or what `max_train_minutes` allows on this
    # CPU, measured in the first steps. The learning-rate schedule is fitted to that number
    # of steps, so that it finishes either way.
    train_steps: int = 0
    max_train_tflops: float = 38.0
    max_train_minutes: float = 7.5  # leaves room for setup, synth and evaluation
    batch_size: int = 16  # more, smaller steps read better than fewer larger ones here
    learning_rate: float = 2e-3
    schedule: str = "step"
    max_word_length: int = 10  # held-out words
    # Training words run a little longer, so that the order map's last slots are trained:
    # slot 10 occurs only in words of 10+ characters.
    train_max_word_length: int = 12
    augment: bool = True  # training-time augmentation on top of synth's own variety
    # Plain backgrounds: a check, in minutes, that training works on this machine; the
    # photograph-like style is for models meant to read photographs.
    synth_style: str = "plain"
    unread_symbols: bool = True  # punctuation and symbols drawn, not read (pipelines/synth.py)
    # A quarter of the paper's 64x256 pixels, so a quarter of the compute per image.
    input_height: int = RECIPE_INPUT_HEIGHT
    input_width: int = RECIPE_INPUT_WIDTH
    precision: str = "auto"  # auto: bfloat16 where the CPU has it natively, else float32
    ema_decay: float = 0.0
    seed: int = 0
    num_predict_files: int = 8
    # Also score the shipped models that read the demo's charset on the same held-out words:
    # what far longer training gives, and where a user's own fine-tuning starts.
    score_shipped_models: bool = True


def demo_train_config(cfg: DemoConfig, train_data: str) -> TrainConfig:
    precision = machine_precision(cfg.precision)
    return TrainConfig(
        model_dir=os.path.join(cfg.workdir, "model"), train_data=train_data,
        charset="alnum36", batch_size=cfg.batch_size,
        model=ModelConfig(backbone="small", input_height=cfg.input_height,
                          input_width=cfg.input_width),
        runtime=RuntimeConfig(mixed_precision=precision, seed=cfg.seed),
        train_steps=cfg.train_steps, max_train_seconds=cfg.max_train_minutes * 60,
        steps_per_loop=50, checkpoint_every=250, image_summary_every=250,
        augment=AugmentConfig(max_rotation_degrees=2.0, max_shear=0.1, max_perspective=0.0,
                              blur_fraction=0.1, noise_probability=0.1)
        if cfg.augment else None,
        # Decays at 70% and 90% of the steps the budget allows, measured in the first steps.
        optimizer=OptimizerConfig(learning_rate=cfg.learning_rate, schedule=cfg.schedule,
                                  decay_fractions=(0.7, 0.9),
                                  warmup_steps=50, clip_norm=5.0),
        ema_decay=cfg.ema_decay,
        loss=LossConfig(class_weight=1.0, order_weight=1.0, loc_weight=1.0))


def compute_capped_steps(cfg: DemoConfig, train_flops_per_image: float) -> int:
    """The demo's step count: what its compute cap allows, or fewer if asked."""
    steps = int(cfg.max_train_tflops * 1e12 / (cfg.batch_size * train_flops_per_image))
    return min(steps, cfg.train_steps) if cfg.train_steps else steps


def run_demo(cfg: DemoConfig) -> dict:
    start = time.perf_counter()
    data = os.path.join(cfg.workdir, "data")
    train_prefix, eval_prefix = os.path.join(data, "train"), os.path.join(data, "heldout")
    timings = {}
    if not os.path.exists(train_prefix + ".report.json"):
        write_synth(SynthConfig(output=eval_prefix, num_samples=cfg.eval_samples,
                                seed=cfg.seed + 1_000_000, max_length=cfg.max_word_length,
                                num_shards=1, style=cfg.synth_style,
                                unread_symbols=cfg.unread_symbols))
        write_synth(SynthConfig(output=train_prefix, num_samples=cfg.train_samples,
                                seed=cfg.seed, max_length=cfg.train_max_word_length,
                                num_shards=8, style=cfg.synth_style,
                                unread_symbols=cfg.unread_symbols))
    timings["synth_seconds"] = time.perf_counter() - start

    train_config = demo_train_config(cfg, train_prefix + "-*")
    train_flops = train_flops_per_image(
        train_config.model_config(load_charset(train_config.charset).num_classes))
    steps = compute_capped_steps(cfg, train_flops)
    train_config = dataclasses.replace(train_config, train_steps=steps)
    log.info("demo: %.2f GFLOP to train on one %dx%d image; at most %d steps of %d images "
             "(%.1f TFLOP) in at most %.1f minutes, in %s", train_flops / 1e9,
             cfg.input_height, cfg.input_width, steps, cfg.batch_size,
             steps * cfg.batch_size * train_flops / 1e12, cfg.max_train_minutes,
             precision_name(train_config.runtime.mixed_precision))
    shutil.rmtree(train_config.model_dir, ignore_errors=True)  # a demo trains from scratch
    trained = Trainer(train_config).train()
    timings["train_seconds"] = trained["train_seconds"]

    # Read in float32, as `main.py evaluate` and the export do (the weights are float32).
    keras.mixed_precision.set_dtype_policy("float32")
    recognizer = recognizer_from_checkpoint(train_config.model_dir)
    result = evaluate_dataset(recognizer, eval_prefix + "-*", recognizer.lookup.charset)
    metrics = result.to_json()
    print(format_table("held-out synthetic words", metrics))
    print(format_samples(result.samples))
    shipped = (score_shipped_models(eval_prefix + "-*", recognizer.lookup.charset)
               if cfg.score_shipped_models else {})
    for name, accuracy in shipped.items():
        print(f"for comparison, the model shipped with the project, {name} (trained far "
              f"longer: its MODEL_CARD.md), reads {accuracy:.1%} of the same words; to read "
              f"your own text, fine-tune it (README)")

    export_dir = export_saved_model(recognizer, os.path.join(cfg.workdir, "export"))
    files = _write_sample_files(eval_prefix + "-*", os.path.join(cfg.workdir, "samples"),
                                cfg.num_predict_files)
    print(f"predictions of the exported SavedModel ({export_dir}) on {len(files)} files:")
    for path, text, confidence in predict_files(SavedModelReader(export_dir), files):
        print(f"{path}\t{text}\t{confidence:.3f}")
    images = trained["step"] * cfg.batch_size
    metrics.update(timings, steps=trained["step"], planned_steps=trained["planned_steps"],
                   train_images=images, train_gflops_per_image=train_flops / 1e9,
                   train_tflops=images * train_flops / 1e12,
                   input_size=[cfg.input_height, cfg.input_width],
                   precision=train_config.runtime.mixed_precision,
                   shipped_model_word_accuracy=shipped,
                   total_seconds=time.perf_counter() - start)
    with open(os.path.join(cfg.workdir, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    return metrics


def score_shipped_models(pattern: str, charset: Charset) -> dict[str, float]:
    """Word accuracy on `pattern` of every shipped model that reads `charset`, by name."""
    scores = {}
    for name in pretrained.available():
        folder = pretrained.resolve(pretrained.PREFIX + name)
        _, model_charset, _, _ = load_spec(folder)
        if not model_charset.reads_like(charset):
            continue
        result = evaluate_dataset(recognizer_from_checkpoint(folder), pattern, charset)
        scores[pretrained.PREFIX + name] = result.to_json()["word_accuracy"]
    return scores


def _write_sample_files(pattern: str, folder: str, count: int) -> list[str]:
    """The first `count` held-out images as files, named after their label."""
    import tensorflow as tf
    os.makedirs(folder, exist_ok=True)
    paths = []
    records = schema.read_records(sorted(tf.io.gfile.glob(pattern)))
    for i, record in enumerate(itertools.islice(records, count)):
        path = os.path.join(folder, f"{i:02d}_{record.text}.jpg")
        with open(path, "wb") as f:
            f.write(record.image)
        paths.append(path)
    return paths

"""The reader: TFRecords -> training and evaluation batches, entirely in tf.data (no Python
per sample). What happens to a record is the decoder's (`pipelines/record_decoder.py`:
serialized -> checked tensors) and the parser's (`pipelines/parser.py`: -> model inputs and
targets); the reader decides where each step runs.

files -> shard per input pipeline -> parallel interleave -> shuffle -> chunks of records,
in parallel: decoded, images loaded, and (without augmentation) the targets built, since they
follow from the records alone -> rebatched to the batch size (every field has a fixed shape)
-> (training with augmentation) the targets built per batch, where the augmentation's random
draws are made -> prefetch.

Work is vectorised wherever it can be: on word crops a TensorFlow op or a tf.data stage costs
about as much per element as decoding the image, so nothing but the decode runs per record.

`InputPipeline` is callable with a `tf.distribute.InputContext`, so it plugs straight into
`strategy.distribute_datasets_from_function`.
"""

from __future__ import annotations

import dataclasses
import logging

import tensorflow as tf

from pipelines.augment import AugmentConfig
from pipelines.parser import Parser, ParserConfig
from pipelines.record_decoder import SKIP_REASONS, RecordDecoder
from pipelines.source_shares import DEFAULT_SHARE_RULE, source_shares
from pipelines.tfrecord_files import expand_patterns
from textscanner.charset import Charset
from textscanner.config import INPUT_HEIGHT, INPUT_WIDTH, NUM_SLOTS, ModelConfig
from textscanner.targets import TargetConfig

log = logging.getLogger(__name__)

__all__ = ["InputConfig", "InputPipeline", "PARSE_CHUNK", "SKIP_REASONS"]
PARSE_CHUNK = 64  # records parsed and checked per call
# The pipeline's functions branch on Python config values only, never on tensors: tf.data
# need not run AutoGraph's source-to-source conversion over them at every start-up.
_without_autograph = tf.autograph.experimental.do_not_convert


@dataclasses.dataclass(frozen=True)
class InputConfig:
    file_pattern: str  # comma-separated globs
    # Training: one weight per glob of `file_pattern`; records are drawn from the globs'
    # files at these rates. Empty, with several globs: at the shares of `share_rule`
    # (`pipelines/source_shares.py`: equal, sqrt or records).
    source_weights: tuple[float, ...] = ()
    share_rule: str = DEFAULT_SHARE_RULE
    global_batch_size: int = 32
    is_training: bool = True
    augment: AugmentConfig | None = None  # None: no augmentation
    keep_aspect: bool = False
    shuffle_buffer: int = 2048
    cycle_length: int = 8
    deterministic: bool = False
    seed: int | None = None
    max_text_length: int = NUM_SLOTS  # the model's slots (`for_model` sets all three)
    image_height: int = INPUT_HEIGHT  # the model's input size
    image_width: int = INPUT_WIDTH
    include_strings: bool | None = None  # text and source fields; default: not in training
    # Keep every record (evaluation scores each one): text with characters outside the
    # charset keeps its known characters, and records without usable targets lose their
    # boxes. Otherwise such records are logged, counted and dropped. Default: not in training.
    keep_every_record: bool | None = None
    # Records that are not kept: punctuation and symbols the charset lacks are left out of
    # the label with their boxes, as `convert` does; off: such records are skipped.
    unread_symbols: bool = True
    # How the maps are painted; their size is always `map_size` of the image size.
    targets: TargetConfig = TargetConfig()
    # XLA-compile augmentation and target rendering: XLA fuses their passes over the batch.
    # Traced and compiled once per batch size.
    jit_compile: bool = True
    # tf.data's autotuning (a model thread per iterator). Off: destroying an iterator can
    # wait, with the GIL held, for that thread to wake from its sleep (docs/tf-notes.md).
    # Without it each AUTOTUNE parallelism is min(16, schedulable CPUs).
    autotune: bool = False

    @classmethod
    def for_model(cls, model: ModelConfig, file_pattern: str, **kwargs) -> "InputConfig":
        """An input config whose image size and longest word are the model's."""
        return cls(file_pattern, image_height=model.input_height,
                   image_width=model.input_width, max_text_length=model.num_slots, **kwargs)


# Bytes around each record in a TFRecord file: its length, the length's CRC, the data's CRC.
TFRECORD_FRAMING = 16


def estimated_record_count(files: list[str], sample: int = 256) -> float:
    """Records in `files`: their bytes over the mean size of `sample` records read from the
    starts of up to four of them (counting millions of records would delay every start)."""
    sizes = [tf.io.gfile.stat(f).length for f in files]
    filled = [f for f, size in zip(files, sizes) if size]
    if not filled:
        return 0.0
    probed = filled[::max(1, len(filled) // 4)][:4]
    lengths = [len(r) for f in probed
               for r in tf.data.TFRecordDataset(f).take(sample // len(probed)).as_numpy_iterator()]
    return sum(sizes) / (sum(lengths) / len(lengths) + TFRECORD_FRAMING)


def _weighted_sources(config: InputConfig) -> tuple[list[list[str]], tuple[float, ...]]:
    """The files of each glob and their shares, when records are drawn per glob: weights
    given (checked: one per glob, records in every glob), or several globs in training
    (the shares of the config's rule; globs without records dropped). Else no sources."""
    globs = [p for p in config.file_pattern.split(",") if p]
    if config.source_weights and len(config.source_weights) != len(globs):
        raise ValueError(f"{len(config.source_weights)} source weights for {len(globs)} "
                         f"glob(s) in {config.file_pattern}")
    if not config.source_weights and (len(globs) < 2 or not config.is_training):
        return [], ()
    sources = [expand_patterns(p) for p in globs]
    if not config.source_weights:
        counts = [estimated_record_count(files) for files in sources]
        kept = [(g, files, n) for g, files, n in zip(globs, sources, counts) if n > 0]
        if not kept:  # nothing to share; reading the files reports that they hold no records
            return [], ()
        weights = source_shares([n for _, _, n in kept], config.share_rule)
        log.info("drawing training records from %s at %s (shares: %s; about %s records; "
                 "--train_data_weights sets others)", ", ".join(g for g, _, _ in kept),
                 ", ".join(f"{w:.3f}" for w in weights), config.share_rule,
                 ", ".join(f"{n:,.0f}" for _, _, n in kept))
        return [files for _, files, _ in kept], weights
    for glob, files in zip(globs, sources):
        # A weighted source with no records would stall every draw from it forever.
        if not any(tf.io.gfile.stat(f).length for f in files):
            raise ValueError(f"--train_data glob {glob} matches only empty files: a "
                             f"weighted source needs records")
    total = sum(config.source_weights)
    return sources, tuple(w / total for w in config.source_weights)


class InputPipeline:
    """Builds the dataset; counts of skipped records: `skipped_counts()` (by SKIP_REASONS)."""

    def __init__(self, config: InputConfig, charset: Charset):
        self.config = config
        self.charset = charset
        # One file list per glob drawn from at its own rate, and the rates.
        self.sources, self.source_weights = _weighted_sources(config)
        self.files = (sorted({f for files in self.sources for f in files}) if self.sources
                      else expand_patterns(config.file_pattern))
        self.decoder = RecordDecoder(charset, config.max_text_length,
                                     keep_every_record=self.keep_every_record,
                                     include_strings=self.include_strings,
                                     unread_symbols=config.unread_symbols)
        self.parser = Parser(ParserConfig(
            config.image_height, config.image_width, config.max_text_length,
            keep_aspect=config.keep_aspect, augment=self.training_augment,
            targets=config.targets, jit_compile=config.jit_compile))

    @property
    def training_augment(self) -> AugmentConfig | None:
        """The augmentation to apply: only in training."""
        return self.config.augment if self.config.is_training else None

    @property
    def include_strings(self) -> bool:
        flag = self.config.include_strings
        return (not self.config.is_training) if flag is None else flag

    @property
    def keep_every_record(self) -> bool:
        flag = self.config.keep_every_record
        return (not self.config.is_training) if flag is None else flag

    def skipped_counts(self) -> dict[str, int]:
        return self.decoder.skipped_counts()

    def __call__(self, input_context: tf.distribute.InputContext | None = None
                 ) -> tf.data.Dataset:
        cfg = self.config
        batch_size = cfg.global_batch_size
        if input_context is not None:  # one batch per replica, whatever the pipelines
            batch_size = input_context.get_per_replica_batch_size(cfg.global_batch_size)
        if len(self.sources) > 1 and cfg.is_training:
            # Each source repeats on its own; records are drawn from them at the weights'
            # rates, whatever their sizes (a few thousand real crops beside 100,000 words).
            records = tf.data.Dataset.sample_from_datasets(
                [self._records(files, input_context) for files in self.sources],
                weights=list(self.source_weights), seed=cfg.seed)
        else:
            records = self._records(self.files, input_context)
        if cfg.is_training:
            records = records.shuffle(cfg.shuffle_buffer, seed=cfg.seed)
        # Random draws are stateless, seeded by (seed, pipeline, element index): the iterator
        # can be checkpointed and resumes with exactly the same augmentation.
        pipeline_id = input_context.input_pipeline_id if input_context else 0
        stream = (cfg.seed or 0) * 1_000_003 + 2 * pipeline_id  # +0: samples, +1: batches

        def seed(offset: int, index: tf.Tensor) -> tf.Tensor:
            return tf.stack([tf.constant(stream + offset, tf.int64), index])

        chunks = records.batch(PARSE_CHUNK).enumerate().map(
            _without_autograph(lambda i, r: self.load_chunk(r, seed(0, i))),
            num_parallel_calls=tf.data.AUTOTUNE)
        # Chunks lose their skipped records; rebatch cuts and joins them into batches.
        batches = chunks.rebatch(batch_size, drop_remainder=cfg.is_training)
        if self.parser.augments:  # else the chunks carry their targets already
            batches = batches.enumerate().map(
                _without_autograph(lambda i, b: self.parser.build_targets(b, seed(1, i))),
                num_parallel_calls=tf.data.AUTOTUNE)
        options = tf.data.Options()
        options.deterministic = cfg.deterministic
        options.autotune.enabled = cfg.autotune
        # The skip counter and its log line are the only state outside the iterator; a
        # checkpoint need not hold them.
        options.experimental_external_state_policy = \
            tf.data.experimental.ExternalStatePolicy.IGNORE
        return batches.prefetch(tf.data.AUTOTUNE).with_options(options)

    def _records(self, file_names: list[str],
                 input_context: tf.distribute.InputContext | None) -> tf.data.Dataset:
        """Serialized records of `file_names`: this input pipeline's share, and in training
        the files in a new order every epoch, repeated."""
        cfg = self.config
        files = tf.data.Dataset.from_tensor_slices(file_names)
        record_shard = None
        if input_context is not None and input_context.num_input_pipelines > 1:
            n, index = input_context.num_input_pipelines, input_context.input_pipeline_id
            if len(file_names) >= n:
                files = files.shard(n, index)
            else:
                log.warning("only %d file(s) for %d input pipelines: sharding by record, so "
                            "every pipeline reads every file; write more shards to avoid it",
                            len(file_names), n)
                record_shard = (n, index)
        if cfg.is_training:
            files = files.shuffle(len(file_names), seed=cfg.seed, reshuffle_each_iteration=True)
            files = files.repeat()
        records = files.interleave(
            tf.data.TFRecordDataset, cycle_length=min(cfg.cycle_length, len(file_names)),
            num_parallel_calls=tf.data.AUTOTUNE)
        return records.shard(*record_shard) if record_shard else records

    def load_chunk(self, serialized: tf.Tensor, seed: tf.Tensor | None = None
                   ) -> dict[str, tf.Tensor]:
        """[K] serialized examples -> samples: decoded, images loaded, and without
        augmentation the targets too (padded to the chunk size, so XLA compiles one program
        whatever the number of skipped records); with it, the quads in input pixels."""
        samples = self.parser.load_images(self.decoder.decode(serialized), seed)
        if self.parser.augments:
            return samples
        return self.parser.build_targets(samples, compiled_size=PARSE_CHUNK)

"""TFRecords -> training and evaluation batches, entirely in tf.data (no Python per sample).

files -> shard per input pipeline -> parallel interleave -> shuffle -> parallel parse/decode/
resize/encode text -> skip bad records (logged, counted) -> padded batch -> augment and render
the ground-truth maps per batch -> prefetch.

`InputPipeline` is callable with a `tf.distribute.InputContext`, so it plugs straight into
`strategy.distribute_datasets_from_function`.
"""

from __future__ import annotations

import dataclasses
import logging
import sys

import tensorflow as tf

from pipelines import decode, schema
from pipelines.augment import AugmentConfig, augment_batch, jpeg_artifacts
from pipelines.shards import expand_patterns
from textscanner.charset import Charset
from textscanner.charset_tf import CharsetLookup
from textscanner.targets import TargetConfig, render_targets

log = logging.getLogger(__name__)

MAX_TEXT_LENGTH = 30
# Why a record was skipped; index = status code.
SKIP_REASONS = ("ok", "unknown_chars", "too_long", "box_count", "empty_text")


@dataclasses.dataclass(frozen=True)
class InputConfig:
    file_pattern: str  # comma-separated globs
    global_batch_size: int = 32
    is_training: bool = True
    augment: AugmentConfig | None = None  # None: no augmentation
    keep_aspect: bool = False
    shuffle_buffer: int = 2048
    cycle_length: int = 8
    deterministic: bool = False
    seed: int | None = None
    max_text_length: int = MAX_TEXT_LENGTH
    include_strings: bool | None = None  # text and source fields; default: not in training
    targets: TargetConfig = TargetConfig()


class InputPipeline:
    """Builds the dataset; counts of skipped records live in `skipped` (by SKIP_REASONS)."""

    def __init__(self, config: InputConfig, charset: Charset):
        self.config = config
        self.charset = charset
        self.lookup = CharsetLookup(charset)
        self.files = expand_patterns(config.file_pattern)
        self.skipped = tf.Variable(tf.zeros([len(SKIP_REASONS)], tf.int64), trainable=False,
                                   name="skipped_records")

    @property
    def include_strings(self) -> bool:
        flag = self.config.include_strings
        return (not self.config.is_training) if flag is None else flag

    def skipped_counts(self) -> dict[str, int]:
        counts = self.skipped.numpy().tolist()
        return {r: c for r, c in zip(SKIP_REASONS[1:], counts[1:]) if c}

    def __call__(self, input_context: tf.distribute.InputContext | None = None
                 ) -> tf.data.Dataset:
        cfg = self.config
        batch_size = cfg.global_batch_size
        files = tf.data.Dataset.from_tensor_slices(self.files)
        record_shard = None
        if input_context is not None:  # one batch per replica, whatever the pipelines
            batch_size = input_context.get_per_replica_batch_size(cfg.global_batch_size)
        if input_context is not None and input_context.num_input_pipelines > 1:
            n, index = input_context.num_input_pipelines, input_context.input_pipeline_id
            if len(self.files) >= n:
                files = files.shard(n, index)
            else:
                log.warning("only %d file(s) for %d input pipelines: sharding by record, so "
                            "every pipeline reads every file; write more shards to avoid it",
                            len(self.files), n)
                record_shard = (n, index)
        if cfg.is_training:
            files = files.shuffle(len(self.files), seed=cfg.seed, reshuffle_each_iteration=True)
            files = files.repeat()
        records = files.interleave(
            tf.data.TFRecordDataset, cycle_length=min(cfg.cycle_length, len(self.files)),
            num_parallel_calls=tf.data.AUTOTUNE)
        if record_shard:
            records = records.shard(*record_shard)
        if cfg.is_training:
            records = records.shuffle(cfg.shuffle_buffer, seed=cfg.seed)
        # Random draws are stateless, seeded by (seed, pipeline, element index): the iterator
        # can be checkpointed and resumes with exactly the same augmentation.
        pipeline_id = input_context.input_pipeline_id if input_context else 0
        stream = (cfg.seed or 0) * 1_000_003 + 2 * pipeline_id  # +0: samples, +1: batches

        def seed(offset: int, index: tf.Tensor) -> tf.Tensor:
            return tf.stack([tf.constant(stream + offset, tf.int64), index])

        samples = records.enumerate().map(lambda i, r: self.parse(r, seed(0, i)),
                                          num_parallel_calls=tf.data.AUTOTUNE)
        samples = samples.filter(self._keep)
        batches = samples.padded_batch(batch_size, drop_remainder=cfg.is_training)
        batches = batches.enumerate().map(lambda i, b: self.render(b, seed(1, i)),
                                          num_parallel_calls=tf.data.AUTOTUNE)
        options = tf.data.Options()
        options.deterministic = cfg.deterministic
        options.autotune.enabled = True
        # The skip counter and its log line are the only state outside the iterator; a
        # checkpoint need not hold them.
        options.experimental_external_state_policy = \
            tf.data.experimental.ExternalStatePolicy.IGNORE
        return batches.prefetch(tf.data.AUTOTUNE).with_options(options)

    # -- per sample ---------------------------------------------------------------------------
    def parse(self, serialized: tf.Tensor, seed: tf.Tensor | None = None
              ) -> dict[str, tf.Tensor]:
        """Serialized example -> resized image, text ids, boxes in input pixels, status."""
        cfg = self.config
        parsed = schema.parse(serialized)
        image, scale = decode.resize(decode.decode_rgb(parsed[schema.IMAGE]),
                                     keep_aspect=cfg.keep_aspect)
        if cfg.is_training and cfg.augment is not None and cfg.augment.photometric:
            image = jpeg_artifacts(image, cfg.augment, seed)
        ids = self.lookup.encode(parsed[schema.TEXT])
        length = tf.size(ids)
        boxes = parsed[schema.CHAR_BOXES]
        n_boxes = tf.shape(boxes)[0]
        # First matching reason wins (see SKIP_REASONS).
        status = tf.where(length == 0, 4, tf.where(
            tf.reduce_any(ids < 0), 1, tf.where(
                length > cfg.max_text_length, 2, tf.where(
                    (n_boxes > 0) & (n_boxes != length), 3, 0))))
        pad = tf.maximum(cfg.max_text_length - length, 0)
        text_ids = tf.pad(tf.maximum(ids[:cfg.max_text_length], 0), [[0, pad]])
        sample = {
            "image": image,
            "text_ids": tf.ensure_shape(text_ids, [cfg.max_text_length]),
            "length": tf.minimum(length, cfg.max_text_length),
            # Scaled to input pixels; records with a bad status are filtered out below.
            "quads": tf.reshape(tf.reshape(boxes, [-1, 4, 2]) * scale, [-1, 8]),
            "has_char_boxes": tf.cast(n_boxes > 0, tf.float32),
            "status": status,
            "source": parsed[schema.SOURCE],
            "text": parsed[schema.TEXT],
        }
        return sample


    def _keep(self, sample: dict[str, tf.Tensor]) -> tf.Tensor:
        status = sample["status"]

        def report() -> tf.Tensor:
            reason = tf.gather(tf.constant(SKIP_REASONS), status)
            points = self.lookup.codepoints(sample["text"])
            unknown = tf.strings.unicode_encode(
                tf.boolean_mask(points, self.lookup.table.lookup(points) < 0), "UTF-8")
            message = tf.strings.join(["skipped record ", sample["source"], ": ", reason,
                                       " (unknown: '", unknown, "') text '", sample["text"], "'"])
            printed = tf.print(message, output_stream=sys.stderr)
            counted = self.skipped.assign_add(tf.one_hot(status, len(SKIP_REASONS),
                                                         dtype=tf.int64))
            with tf.control_dependencies([printed, counted]):
                return tf.constant(False)

        return tf.cond(tf.equal(status, 0), lambda: tf.constant(True), report)

    # -- per batch ----------------------------------------------------------------------------
    def render(self, batch: dict[str, tf.Tensor], seed: tf.Tensor | None = None
               ) -> dict[str, tf.Tensor]:
        """Augments (training) and renders the ground-truth maps of a padded batch."""
        cfg = self.config
        images, quads = batch["image"], batch["quads"]
        if cfg.is_training and cfg.augment is not None:
            images, quads = augment_batch(images, quads, cfg.augment, seed)
        slots = tf.range(tf.shape(quads)[1])
        valid = (slots[None, :] < batch["length"][:, None]) & (batch["has_char_boxes"][:, None] > 0)
        to_map = tf.constant([cfg.targets.map_width / decode.INPUT_WIDTH,
                              cfg.targets.map_height / decode.INPUT_HEIGHT] * 4)
        maps = render_targets(quads * to_map, batch["text_ids"][:, :tf.shape(quads)[1]], valid,
                              cfg.targets)
        out = {
            "image": images,
            "text_ids": batch["text_ids"],
            "length": batch["length"],
            "has_char_boxes": batch["has_char_boxes"],
            **maps,
        }
        if self.include_strings:
            out["text"] = batch["text"]
            out["source"] = batch["source"]
        return out

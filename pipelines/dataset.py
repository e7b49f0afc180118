"""TFRecords -> training and evaluation batches, entirely in tf.data (no Python per sample).

files -> shard per input pipeline -> parallel interleave -> shuffle -> chunks of records,
in parallel: parsed and checked together (text lookup, status; bad records logged, counted and
dropped), images decoded and resized, and (without augmentation) the ground-truth maps
rendered -> rebatched to the batch size (every field has a fixed shape) -> (training with
augmentation) augmentation and the maps per batch, one XLA-compiled function -> prefetch.

Work is vectorised wherever it can be: on word crops a TensorFlow op or a tf.data stage costs
about as much per element as decoding the image, so nothing but the decode runs per record.

`InputPipeline` is callable with a `tf.distribute.InputContext`, so it plugs straight into
`strategy.distribute_datasets_from_function`.
"""

from __future__ import annotations

import dataclasses
import logging
import sys

import tensorflow as tf

from pipelines import decode, schema
from pipelines.augment import AugmentConfig, AugmentDraws, augment_batch, jpeg_artifacts
from pipelines.tfrecord_files import expand_patterns
from textscanner.charset import Charset
from textscanner.charset_tf import CharsetLookup
from textscanner.config import INPUT_HEIGHT, INPUT_WIDTH, NUM_SLOTS, ModelConfig, map_size
from textscanner.targets import TargetConfig, render_targets

log = logging.getLogger(__name__)

# Why a record was skipped; index = status code.
SKIP_REASONS = ("ok", "unknown_chars", "too_long", "box_count", "empty_text")
OK, UNKNOWN_CHARS, TOO_LONG, BOX_COUNT, EMPTY_TEXT = range(len(SKIP_REASONS))
PARSE_CHUNK = 64  # records parsed and checked per call


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
    max_text_length: int = NUM_SLOTS  # the model's slots (`for_model` sets all three)
    image_height: int = INPUT_HEIGHT  # the model's input size
    image_width: int = INPUT_WIDTH
    include_strings: bool | None = None  # text and source fields; default: not in training
    # Keep every record (evaluation scores each one): text with characters outside the
    # charset keeps its known characters, and records without usable targets lose their
    # boxes. Otherwise such records are logged, counted and dropped. Default: not in training.
    keep_every_record: bool | None = None
    # How the maps are painted; their size is always `map_size` of the image size.
    targets: TargetConfig = TargetConfig()
    # XLA-compile augmentation and target rendering: XLA fuses their passes over the batch.
    # Traced and compiled once per batch size.
    jit_compile: bool = True

    @classmethod
    def for_model(cls, model: ModelConfig, file_pattern: str, **kwargs) -> "InputConfig":
        """An input config whose image size and longest word are the model's."""
        return cls(file_pattern, image_height=model.input_height,
                   image_width=model.input_width, max_text_length=model.num_slots, **kwargs)


class InputPipeline:
    """Builds the dataset; counts of skipped records live in `skipped` (by SKIP_REASONS)."""

    def __init__(self, config: InputConfig, charset: Charset):
        self.config = config
        self.charset = charset
        map_height, map_width = map_size(config.image_height, config.image_width)
        self.targets = dataclasses.replace(config.targets, map_height=map_height,
                                           map_width=map_width)
        self.lookup = CharsetLookup(charset)
        self.files = expand_patterns(config.file_pattern)
        self.skipped = tf.Variable(tf.zeros([len(SKIP_REASONS)], tf.int64), trainable=False,
                                   name="skipped_records")
        # Fixed shapes, so traced and XLA-compiled once (per chunk or batch size); the number of
        # characters to paint is an argument.
        n = config.max_text_length
        maps_signature = [tf.TensorSpec([None, n, 8], tf.float32),
                          tf.TensorSpec([None, n], tf.int32),
                          tf.TensorSpec([None, n], tf.bool),
                          tf.TensorSpec([], tf.int32)]
        self._render_maps = tf.function(self._render_maps_fn, input_signature=maps_signature,
                                        jit_compile=config.jit_compile)
        if self.training_augment is not None:
            image_spec = tf.TensorSpec([None, config.image_height, config.image_width, 3])
            draws_spec = AugmentDraws.signature(self.training_augment, config.image_height,
                                                config.image_width)
            self._augment_and_render = tf.function(
                self._augment_and_render_fn,
                input_signature=[image_spec, *maps_signature, draws_spec],
                jit_compile=config.jit_compile)

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

        chunks = records.batch(PARSE_CHUNK).enumerate().map(
            lambda i, r: self.load_chunk(r, seed(0, i)), num_parallel_calls=tf.data.AUTOTUNE)
        # Chunks lose their skipped records; rebatch cuts and joins them into batches.
        batches = chunks.rebatch(batch_size, drop_remainder=cfg.is_training)
        if self.training_augment is not None:  # else the chunks carry their maps already
            batches = batches.enumerate().map(
                lambda i, b: self.augment_and_render(b, seed(1, i)),
                num_parallel_calls=tf.data.AUTOTUNE)
        options = tf.data.Options()
        options.deterministic = cfg.deterministic
        options.autotune.enabled = True
        # The skip counter and its log line are the only state outside the iterator; a
        # checkpoint need not hold them.
        options.experimental_external_state_policy = \
            tf.data.experimental.ExternalStatePolicy.IGNORE
        return batches.prefetch(tf.data.AUTOTUNE).with_options(options)

    # -- per chunk of records ---------------------------------------------------------------
    def load_chunk(self, serialized: tf.Tensor, seed: tf.Tensor | None = None
                   ) -> dict[str, tf.Tensor]:
        """[K] serialized examples -> samples: image resized to the model input, text ids,
        and either character quads in input pixels padded to max_text_length (to be
        augmented) or the ground-truth maps. Records unusable as targets are logged with
        their source and reason, counted and dropped, unless every record is kept."""
        cfg = self.config
        n = cfg.max_text_length
        parsed = schema.parse_batch(serialized)
        boxes = parsed[schema.CHAR_BOXES]  # [K, (boxes), 8]
        n_boxes = tf.cast(boxes.row_lengths(), tf.int32)
        points = self.lookup.codepoints(parsed[schema.TEXT])  # [K, (chars)]
        ids = self.lookup.ids(points)
        length = tf.cast(ids.row_lengths(), tf.int32)
        unknown = tf.reduce_any(ids < 0, axis=1)
        # First matching reason wins (see SKIP_REASONS).
        status = tf.where(length == 0, EMPTY_TEXT, tf.where(
            unknown, UNKNOWN_CHARS, tf.where(
                length > n, TOO_LONG, tf.where(
                    (n_boxes > 0) & (n_boxes != length), BOX_COUNT, OK))))
        known = tf.ragged.boolean_mask(ids, ids >= 0)  # all of them, unless a record is kept
        known_length = tf.cast(known.row_lengths(), tf.int32)
        chunk = {
            "encoded": parsed[schema.IMAGE],
            "text_ids": known.to_tensor(0, shape=[None, n]),
            "length": tf.minimum(known_length, n),
            "boxes": boxes.to_tensor(0.0, shape=[None, n, 8]),
            "has_char_boxes": tf.cast((n_boxes > 0) & (status == OK), tf.float32),
            "outside_charset": unknown,
            "source": parsed[schema.SOURCE],
            "text": parsed[schema.TEXT],
        }
        keep = tf.ones_like(unknown)
        if not self.keep_every_record:
            reported = tf.cond(tf.reduce_any(status != OK),
                               lambda: self._report(status, parsed, points, ids),
                               lambda: tf.constant(True))
            with tf.control_dependencies([reported]):
                keep = tf.identity(status == OK)
            chunk = {key: tf.boolean_mask(value, keep) for key, value in chunk.items()}
        if not self.include_strings:
            del chunk["source"], chunk["text"], chunk["outside_charset"]
        # Only decode and resize run per image; everything else is done for the chunk.
        elements = (chunk.pop("encoded"),)
        augment = self.training_augment
        if augment is not None and augment.jpeg_probability > 0:  # seeds for the re-encoding
            seeds = tf.random.experimental.stateless_split(
                tf.zeros([2], tf.int64) if seed is None else seed, PARSE_CHUNK)
            elements += (tf.boolean_mask(seeds[:tf.size(status)], keep),)
        images, sizes = tf.map_fn(
            lambda args: self._load_image(*args), elements,
            fn_output_signature=(tf.TensorSpec([cfg.image_height, cfg.image_width, 3]),
                                 tf.TensorSpec([2], tf.int32)))
        scale = decode.resize_scale(sizes, cfg.image_height, cfg.image_width,
                                    cfg.keep_aspect)  # [K, 2] (sx, sy)
        quads = chunk.pop("boxes") * tf.tile(scale, [1, 4])[:, None, :]
        sample = {"image": images, "quads": quads, **chunk}
        if augment is None:  # the maps follow from the records alone: rendered here, per
            sample.update(self._render_chunk_maps(sample))  # chunk, not in a stage of their own
            del sample["quads"]
        return sample

    def _render_chunk_maps(self, chunk: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """The maps of a chunk's samples, rendered at the full chunk size (so XLA compiles
        one program, whatever the number of skipped records)."""
        kept = tf.shape(chunk["length"])[0]
        padding = tf.maximum(PARSE_CHUNK - kept, 0)

        def padded(x: tf.Tensor) -> tf.Tensor:
            return tf.pad(x, [[0, padding]] + [[0, 0]] * (x.shape.rank - 1))

        quads, ids = padded(chunk["quads"]), padded(chunk["text_ids"])
        length, has_boxes = padded(chunk["length"]), padded(chunk["has_char_boxes"])
        maps = self._render_maps(quads, ids, self._valid_slots(length, has_boxes),
                                 tf.reduce_max(tf.concat([length, [0]], 0)))
        return {name: value[:kept] for name, value in maps.items()}

    def _valid_slots(self, length: tf.Tensor, has_char_boxes: tf.Tensor) -> tf.Tensor:
        """[B, max_text_length] bool: the slots holding a character with a box."""
        slots = tf.range(self.config.max_text_length)
        return (slots[None, :] < length[:, None]) & (has_char_boxes[:, None] > 0)

    def _render_maps_fn(self, quads: tf.Tensor, ids: tf.Tensor, valid: tf.Tensor,
                        longest: tf.Tensor) -> dict[str, tf.Tensor]:
        """Maps from quads in input pixels; `longest` characters are painted."""
        targets, cfg = self.targets, self.config
        to_map = tf.constant([targets.map_width / cfg.image_width,
                              targets.map_height / cfg.image_height] * 4)
        return render_targets(quads * to_map, ids, valid, targets, num_slots=longest)

    def _augment_and_render_fn(self, images: tf.Tensor, quads: tf.Tensor, ids: tf.Tensor,
                               valid: tf.Tensor, longest: tf.Tensor, draws: dict[str, tf.Tensor]
                               ) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        images, quads = augment_batch(images, quads, AugmentDraws(**draws))
        return images, self._render_maps_fn(quads, ids, valid, longest)

    def _report(self, status: tf.Tensor, parsed: dict[str, tf.Tensor],
                points: tf.RaggedTensor, ids: tf.RaggedTensor) -> tf.Tensor:
        """Logs one line per skipped record (source, reason, unknown characters, text) and
        counts it."""
        bad = tf.where(status != 0)[:, 0]
        reason = tf.gather(tf.constant(SKIP_REASONS), tf.gather(status, bad))
        unknown_points = tf.ragged.boolean_mask(points, ids < 0)
        unknown = tf.gather(tf.strings.unicode_encode(unknown_points, "UTF-8"), bad)
        lines = tf.strings.join(["skipped record ", tf.gather(parsed[schema.SOURCE], bad), ": ",
                                 reason, " (unknown: '", unknown, "') text '",
                                 tf.gather(parsed[schema.TEXT], bad), "'"])
        printed = tf.print(tf.strings.reduce_join(lines, separator="\n"),
                           output_stream=sys.stderr)
        counted = self.skipped.assign_add(tf.reduce_sum(
            tf.one_hot(tf.gather(status, bad), len(SKIP_REASONS), dtype=tf.int64), axis=0))
        with tf.control_dependencies([printed, counted]):
            return tf.constant(True)

    def _load_image(self, encoded: tf.Tensor, seed: tf.Tensor | None = None
                    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Decodes and resizes one image; returns it and its source size [2] (h, w)."""
        image = decode.decode_rgb(encoded)
        if seed is not None and self.training_augment.photometric:
            image = jpeg_artifacts(image, self.training_augment, seed)
        cfg = self.config
        return (decode.resize_image(image, cfg.image_height, cfg.image_width, cfg.keep_aspect),
                tf.shape(image)[:2])

    # -- per batch ----------------------------------------------------------------------------
    def augment_and_render(self, batch: dict[str, tf.Tensor], seed: tf.Tensor | None = None
                           ) -> dict[str, tf.Tensor]:
        """Augments a training batch and renders its ground-truth maps."""
        draws = AugmentDraws.draw(  # with TF's kernels, outside the XLA function
            tf.shape(batch["quads"])[0], self.config.image_height, self.config.image_width,
            self.training_augment, tf.zeros([2], tf.int64) if seed is None else seed)
        images, maps = self._augment_and_render(
            batch["image"], batch["quads"], batch["text_ids"],
            self._valid_slots(batch["length"], batch["has_char_boxes"]),
            tf.reduce_max(tf.concat([batch["length"], [0]], 0)), draws.as_dict())
        outputs = {**batch, "image": images, **maps}
        del outputs["quads"]
        return outputs

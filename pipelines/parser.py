"""The parser: decoded records -> model inputs and targets, for training or evaluation (the
parser of `official/vision/dataloaders`). Images are decoded and resized to the model's
input; the ground-truth maps are built in one place, `build_targets`, after the training
augmentation when there is one (the augmentation moves the character quadrilaterals, and the
maps are painted from where they land)."""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from pipelines import decode
from pipelines.augment import AugmentConfig, AugmentDraws, augment_batch, jpeg_artifacts
from textscanner.config import map_size
from textscanner.targets import TargetConfig, render_targets


@dataclasses.dataclass(frozen=True)
class ParserConfig:
    image_height: int
    image_width: int
    max_text_length: int
    keep_aspect: bool = False
    augment: AugmentConfig | None = None  # training augmentation; None: none
    targets: TargetConfig = TargetConfig()  # how the maps are painted (size: `map_size`)
    jit_compile: bool = True  # XLA fuses the augmentation's and the maps' passes


class Parser:
    """`load_images` then `build_targets`; both take and return dicts of batched tensors."""

    def __init__(self, config: ParserConfig):
        self.config = config
        map_height, map_width = map_size(config.image_height, config.image_width)
        self.targets = dataclasses.replace(config.targets, map_height=map_height,
                                           map_width=map_width)
        # Fixed shapes, so traced and XLA-compiled once per batch size; the number of
        # characters to paint is an argument.
        n = config.max_text_length
        maps_signature = [tf.TensorSpec([None, n, 8], tf.float32),
                          tf.TensorSpec([None, n], tf.int32),
                          tf.TensorSpec([None, n], tf.bool),
                          tf.TensorSpec([], tf.int32)]
        self._render_maps = tf.function(self._render_maps_fn, input_signature=maps_signature,
                                        jit_compile=config.jit_compile, autograph=False)
        if config.augment is not None:
            image_spec = tf.TensorSpec([None, config.image_height, config.image_width, 3])
            draws_spec = AugmentDraws.signature(config.augment, config.image_height,
                                                config.image_width)
            self._augment_and_render = tf.function(
                self._augment_and_render_fn,
                input_signature=[image_spec, *maps_signature, draws_spec],
                jit_compile=config.jit_compile, autograph=False)

    @property
    def augments(self) -> bool:
        return self.config.augment is not None

    def load_images(self, decoded: dict[str, tf.Tensor], seed: tf.Tensor | None = None
                    ) -> dict[str, tf.Tensor]:
        """Decoded records -> samples: `encoded` becomes `image` (the model's input) and
        `boxes` in source pixels become `quads` in input pixels. Per image only the decode
        and the resize run; the rest is done for the whole chunk."""
        cfg = self.config
        samples = dict(decoded)
        position = samples.pop("position")
        elements = (samples.pop("encoded"),)
        augment = cfg.augment
        if augment is not None and augment.photometric and augment.jpeg_probability > 0:
            # One seed per position in the chunk, for the JPEG re-encoding.
            seeds = tf.random.experimental.stateless_split(
                tf.zeros([2], tf.int64) if seed is None else seed,
                tf.reduce_max(tf.concat([position, [0]], 0)) + 1)
            elements += (tf.gather(seeds, position),)
        images, sizes = tf.map_fn(
            lambda args: self._load_image(*args), elements,
            fn_output_signature=(tf.TensorSpec([cfg.image_height, cfg.image_width, 3]),
                                 tf.TensorSpec([2], tf.int32)))
        scale = decode.resize_scale(sizes, cfg.image_height, cfg.image_width,
                                    cfg.keep_aspect)  # [K, 2] (sx, sy)
        samples["quads"] = samples.pop("boxes") * tf.tile(scale, [1, 4])[:, None, :]
        samples["image"] = images
        return samples

    def build_targets(self, samples: dict[str, tf.Tensor], seed: tf.Tensor | None = None,
                      compiled_size: int | None = None) -> dict[str, tf.Tensor]:
        """Augments the samples (in training, with `seed`) and paints their ground-truth maps
        from the quadrilaterals: `class_map`, `order_map`, `loc_map` replace `quads`.

        compiled_size: without augmentation, render padded to this many samples, so that
        XLA compiles one program for batches of varying size."""
        quads, ids = samples["quads"], samples["text_ids"]
        valid = self._valid_slots(samples["length"], samples["has_char_boxes"])
        longest = tf.reduce_max(tf.concat([samples["length"], [0]], 0))
        outputs = {key: value for key, value in samples.items() if key != "quads"}
        if self.augments:
            draws = AugmentDraws.draw(  # with TF's kernels, outside the XLA function
                tf.shape(quads)[0], self.config.image_height, self.config.image_width,
                self.config.augment, tf.zeros([2], tf.int64) if seed is None else seed)
            outputs["image"], maps = self._augment_and_render(
                samples["image"], quads, ids, valid, longest, draws.as_dict())
            return {**outputs, **maps}
        if compiled_size is None:
            return {**outputs, **self._render_maps(quads, ids, valid, longest)}
        kept = tf.shape(quads)[0]
        padding = tf.maximum(compiled_size - kept, 0)

        def padded(x: tf.Tensor) -> tf.Tensor:
            return tf.pad(x, [[0, padding]] + [[0, 0]] * (x.shape.rank - 1))

        maps = self._render_maps(padded(quads), padded(ids), padded(valid), longest)
        return {**outputs, **{name: value[:kept] for name, value in maps.items()}}

    # -- compiled parts ---------------------------------------------------------------------
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

    def _valid_slots(self, length: tf.Tensor, has_char_boxes: tf.Tensor) -> tf.Tensor:
        """[B, max_text_length] bool: the slots holding a character with a box."""
        slots = tf.range(self.config.max_text_length)
        return (slots[None, :] < length[:, None]) & (has_char_boxes[:, None] > 0)

    def _load_image(self, encoded: tf.Tensor, seed: tf.Tensor | None = None
                    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Decodes and resizes one image; returns it and its source size [2] (h, w)."""
        cfg = self.config
        image = decode.decode_rgb(encoded)
        if seed is not None:
            image = jpeg_artifacts(image, cfg.augment, seed)
        return (decode.resize_image(image, cfg.image_height, cfg.image_width, cfg.keep_aspect),
                tf.shape(image)[:2])

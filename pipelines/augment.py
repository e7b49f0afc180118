"""Training augmentation, in the graph.

Geometry: one random projective matrix per image (rotation, shear, scale, translation,
perspective) moves the pixels and the character quadrilaterals alike, before the targets are
rendered; the warp is bilinear sampling written as gathers, which XLA compiles into one
loop (faster on CPU than ImageProjectiveTransformV3; BUILD.md has the numbers). Colour: one
random affine colour map per image (saturation, hue, grey, contrast, brightness as a 3x3
matrix and an offset), blur on a fixed share of each batch, and noise. Every part can be
switched off.

The random draws of a batch (`AugmentDraws`) are made with TF's kernels; `augment_batch`
applies them in two passes over the batch, compiled by XLA."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    geometric: bool = True
    max_rotation_degrees: float = 4.0
    max_shear: float = 0.2
    scale_range: tuple[float, float] = (0.85, 1.05)
    max_translate: float = 0.04  # fraction of the width / height
    max_perspective: float = 0.0006  # bottom-row coefficients of the projective matrix
    photometric: bool = True
    max_brightness: float = 0.15
    contrast_range: tuple[float, float] = (0.6, 1.3)
    # Share of images whose contrast is raised far instead, clipping ink and background to
    # flat, saturated colours: what a camera's auto-exposure or an auto-levelled photograph
    # makes of a sign, and what the other draws never reach (BUILD.md, "High contrast").
    high_contrast_probability: float = 0.2
    high_contrast_range: tuple[float, float] = (1.3, 3.0)
    saturation_range: tuple[float, float] = (0.4, 1.4)
    max_hue_degrees: float = 30.0
    grey_probability: float = 0.1
    # Share of each batch that is blurred: its first round(fraction * B) images (a fixed
    # count keeps the shapes static for XLA; the input is shuffled, so the words vary).
    blur_fraction: float = 0.2
    noise_probability: float = 0.2
    max_noise_std: float = 0.04
    jpeg_probability: float = 0.0  # per image, before batching; costly on CPU
    jpeg_quality_range: tuple[int, int] = (30, 90)


class SeedStream:
    """Distinct stateless seeds drawn from one [2] seed: augmentation has no hidden state,
    so a checkpointed input iterator resumes with the very same random draws."""

    def __init__(self, seed: tf.Tensor, count: int = 32):
        self._seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), count)
        self._next = 0

    def __call__(self) -> tf.Tensor:
        seed = self._seeds[self._next]
        self._next += 1
        return seed

    def uniform(self, shape, low=0.0, high=1.0) -> tf.Tensor:
        return tf.random.stateless_uniform(shape, self(), low, high, dtype=tf.float32)



def random_projective(batch: tf.Tensor, height: int, width: int, config: AugmentConfig,
                      rng: SeedStream) -> tf.Tensor:
    """[B, 3, 3] forward matrices (input pixel -> output pixel) about the image centre."""
    angle = rng.uniform([batch], -1.0, 1.0) * math.radians(config.max_rotation_degrees)
    shear = rng.uniform([batch], -config.max_shear, config.max_shear)
    scale = rng.uniform([batch], *config.scale_range)
    tx = rng.uniform([batch], -1.0, 1.0) * config.max_translate * width
    ty = rng.uniform([batch], -1.0, 1.0) * config.max_translate * height
    px = rng.uniform([batch], -1.0, 1.0) * config.max_perspective
    py = rng.uniform([batch], -1.0, 1.0) * config.max_perspective * 4.0  # height << width
    zeros, ones = tf.zeros([batch]), tf.ones([batch])
    cos, sin = tf.cos(angle) * scale, tf.sin(angle) * scale

    def mat(rows):
        return tf.reshape(tf.stack(rows, axis=-1), [-1, 3, 3])

    cx, cy = width / 2.0, height / 2.0
    to_centre = mat([ones, zeros, -cx * ones, zeros, ones, -cy * ones, zeros, zeros, ones])
    from_centre = mat([ones, zeros, (cx * ones) + tx, zeros, ones, (cy * ones) + ty,
                       zeros, zeros, ones])
    linear = mat([cos, cos * shear - sin, zeros, sin, sin * shear + cos, zeros, px, py, ones])
    return from_centre @ linear @ to_centre


def transform_quads(quads: tf.Tensor, forward: tf.Tensor) -> tf.Tensor:
    """Applies [B, 3, 3] forward matrices to quads [B, N, 8]."""
    points = tf.reshape(quads, [tf.shape(quads)[0], -1, 2])
    homogeneous = tf.concat([points, tf.ones_like(points[..., :1])], axis=-1)
    moved = tf.einsum("bij,bpj->bpi", forward, homogeneous)
    moved = moved[..., :2] / moved[..., 2:3]
    return tf.reshape(moved, tf.shape(quads))


def _adjugate(matrices: tf.Tensor) -> list[list[tf.Tensor]]:
    """Entries [i][j] ([B] each) of the adjugate of [B, 3, 3] matrices: det * inverse, the
    same projective map as the inverse (XLA compiles tf.linalg.inv into a loop)."""
    a = [[matrices[:, i, j] for j in range(3)] for i in range(3)]

    def cofactor(i: int, j: int) -> tf.Tensor:
        (r0, r1), (c0, c1) = [r for r in range(3) if r != i], [c for c in range(3) if c != j]
        return (-1.0) ** (i + j) * (a[r0][c0] * a[r1][c1] - a[r0][c1] * a[r1][c0])

    return [[cofactor(j, i) for j in range(3)] for i in range(3)]


def warp_images(images: tf.Tensor, forward: tf.Tensor) -> tf.Tensor:
    """Warps [B, H, W, C] so that input point p lands at forward[b] @ p (continuous
    coordinates, pixel i spanning [i, i + 1]); bilinear, edges replicated."""
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    h, w = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    # Output pixel centre -> input point, as broadcast arithmetic: XLA fuses it into the
    # sampling, where a [B, 3, 3] x [3, H * W] product would take two extra passes.
    m = [[entry[:, None] for entry in row] for row in _adjugate(forward)]
    ys = tf.repeat(tf.range(h) + 0.5, width)[None]  # [1, H * W] output pixel centres
    xs = tf.tile(tf.range(w) + 0.5, [height])[None]
    depth = m[2][0] * xs + m[2][1] * ys + m[2][2]
    # Input point -> fractional pixel index, clamped (edges replicated).
    sx = tf.clip_by_value((m[0][0] * xs + m[0][1] * ys + m[0][2]) / depth - 0.5, 0.0, w - 1.0)
    sy = tf.clip_by_value((m[1][0] * xs + m[1][1] * ys + m[1][2]) / depth - 0.5, 0.0, h - 1.0)
    x0 = tf.minimum(tf.floor(sx), w - 2.0)
    y0 = tf.minimum(tf.floor(sy), h - 2.0)
    fx, fy = (sx - x0)[..., None], (sy - y0)[..., None]
    top_left = tf.range(batch)[:, None] * height * width + \
        tf.cast(y0, tf.int32) * width + tf.cast(x0, tf.int32)
    flat = tf.reshape(images, [-1, shape[3]])
    def at(offset):
        return tf.gather(flat, top_left + offset)
    top = at(0) + fx * (at(1) - at(0))
    bottom = at(width) + fx * (at(width + 1) - at(width))
    return tf.reshape(top + fy * (bottom - top), shape)


_RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114],
                        [0.596, -0.274, -0.322],
                        [0.211, -0.523, 0.312]], np.float32)
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ).astype(np.float32)


def _colour_matrices(batch: tf.Tensor, config: AugmentConfig, rng: SeedStream) -> tf.Tensor:
    """[B, 3, 3] RGB matrices: saturation and hue as a scaled rotation of the IQ plane."""
    saturation = rng.uniform([batch], *config.saturation_range)
    saturation = tf.where(rng.uniform([batch]) < config.grey_probability, 0.0, saturation)
    hue = rng.uniform([batch], -1.0, 1.0) * math.radians(config.max_hue_degrees)
    c, s = saturation * tf.cos(hue), saturation * tf.sin(hue)
    zeros, ones = tf.zeros([batch]), tf.ones([batch])
    iq = tf.reshape(tf.stack([ones, zeros, zeros, zeros, c, -s, zeros, s, c], -1), [-1, 3, 3])
    return tf.constant(_YIQ_TO_RGB)[None] @ iq @ tf.constant(_RGB_TO_YIQ)[None]


def _contrast(batch: tf.Tensor, config: AugmentConfig, rng: SeedStream) -> tf.Tensor:
    """[B, 1] contrast factors: from `contrast_range`, or with `high_contrast_probability`
    from `high_contrast_range`."""
    usual = rng.uniform([batch, 1], *config.contrast_range)
    if config.high_contrast_probability <= 0:
        return usual
    high = rng.uniform([batch, 1], *config.high_contrast_range)
    return tf.where(rng.uniform([batch, 1]) < config.high_contrast_probability, high, usual)


def _blur(images: tf.Tensor) -> tf.Tensor:
    """[1, 2, 1] / 4 binomial blur along y and x, edges replicated, as shifted adds of slices
    (XLA fuses them into one pass; its CPU depthwise convolution is much slower)."""
    height, width = images.shape[1], images.shape[2]
    padded = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="SYMMETRIC")  # = replicate
    rows = 0.25 * (padded[:, :height] + padded[:, 2:height + 2]) + 0.5 * padded[:, 1:height + 1]
    return 0.25 * (rows[:, :, :width] + rows[:, :, 2:width + 2]) + 0.5 * rows[:, :, 1:width + 1]


def _mean_colour(images: tf.Tensor) -> tf.Tensor:
    """[B, 3] mean colour per image, from about 8 evenly spaced rows (enough for a contrast
    pivot, at an eighth of a pass over the batch)."""
    stride = max(1, images.shape[1] // 8)
    return tf.reduce_mean(images[:, stride // 2::stride], axis=[1, 2])


@dataclasses.dataclass(frozen=True)
class AugmentDraws:
    """Every random draw of one batch's augmentation ([B, ...] per image; None where the
    part is off).

    Drawn with TF's kernels outside the XLA function that applies them: XLA's CPU random
    generator is slow, and inside XLA each per-image value (random bits turned into a float
    and scaled) was recomputed in every per-pixel loop that read it.
    """
    forward: tf.Tensor | None = None  # [B, 3, 3] projective matrices, input -> output pixel
    colour: tf.Tensor | None = None  # [B, 3, 3] RGB matrices: saturation, hue, grey
    contrast: tf.Tensor | None = None  # [B, 1]
    brightness: tf.Tensor | None = None  # [B, 1]
    # [K, 1, 1, 1] blend towards the blurred image for the batch's first K images, a fixed
    # share (batches are shuffled): blurring only them costs a fraction of a full pass.
    blur: tf.Tensor | None = None
    noise_std: tf.Tensor | None = None  # [B, 1, 1, 1]
    noise: tf.Tensor | None = None  # [1, H, W, 1] uniform in [-1, 1], one pattern per batch

    @classmethod
    def draw(cls, batch: tf.Tensor | int, height: int, width: int, config: AugmentConfig,
             seed: tf.Tensor) -> "AugmentDraws":
        """`seed` [2] determines every draw (stateless: no hidden state to checkpoint)."""
        rng = SeedStream(seed)
        draws = {}
        if config.geometric:
            draws["forward"] = random_projective(batch, height, width, config, rng)
        if config.photometric:
            per_image = [batch, 1, 1, 1]
            draws.update(
                colour=_colour_matrices(batch, config, rng),
                contrast=_contrast(batch, config, rng),
                brightness=rng.uniform([batch, 1], -config.max_brightness,
                                       config.max_brightness))
            if config.blur_fraction > 0:
                blurred = tf.cast(tf.round(config.blur_fraction * tf.cast(batch, tf.float32)),
                                  tf.int32)
                draws["blur"] = rng.uniform([blurred, 1, 1, 1], 0.5, 1.0)
            if config.noise_probability > 0:
                draws["noise_std"] = tf.where(
                    rng.uniform(per_image) < config.noise_probability,
                    rng.uniform(per_image, 0.0, config.max_noise_std), 0.0)
                draws["noise"] = rng.uniform([1, height, width, 1], -1.0, 1.0)
        return cls(**draws)

    def as_dict(self) -> dict[str, tf.Tensor]:
        """The drawn tensors by name (to cross a tf.function boundary)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if getattr(self, f.name) is not None}

    @staticmethod
    def signature(config: AugmentConfig, height: int, width: int) -> dict[str, tf.TensorSpec]:
        """TensorSpecs of `as_dict()` for any batch size."""
        example = AugmentDraws.draw(1, height, width, config, tf.zeros([2], tf.int64))
        return {name: tf.TensorSpec([None if name != "noise" else 1, *value.shape[1:]])
                for name, value in example.as_dict().items()}


def colour_offset(images: tf.Tensor, draws: AugmentDraws) -> tf.Tensor:
    """[B, 1, 1, 1] additive part of each image's affine colour map: with colour matrix M,
    contrast c and brightness d the map is c * M x + (1 - c) * mean(M x) + d."""
    grey_mean = tf.reduce_mean(tf.einsum("bij,bj->bi", draws.colour, _mean_colour(images)),
                               axis=1, keepdims=True)  # mean(M x)
    offset = (1.0 - draws.contrast) * grey_mean + draws.brightness  # [B, 1]
    return offset[:, :, None, None]


def blur_and_colour(images: tf.Tensor, draws: AugmentDraws) -> tf.Tensor:
    """The linear part of the colour map, c * M x, and the blur: one pass over the batch
    under XLA, and a second over the blurred share only (they commute: both are linear)."""
    # The 3x3 map as a product and a sum over the input channels, which XLA keeps as a pass
    # of its own. Written as multiply-adds, XLA fuses it into the warp and recomputes it at
    # each of the warp's taps; stacked output channels or a dot with an inner dimension of 3
    # are slower than the sum.
    matrix = (draws.colour * draws.contrast[:, :, None])[:, None, None]  # [B, 1, 1, 3, 3]
    images = tf.reduce_sum(images[..., None, :] * matrix, axis=-1)
    if draws.blur is not None:
        blurred = tf.shape(draws.blur)[0]  # a compile-time constant under XLA
        head = images[:blurred]
        head = head + draws.blur * (_blur(head) - head)
        # Written in place: a concatenation would copy the whole batch.
        images = tf.tensor_scatter_nd_update(images, tf.range(blurred)[:, None], head)
    return images


def offset_noise_and_clip(images: tf.Tensor, offset: tf.Tensor, draws: AugmentDraws
                          ) -> tf.Tensor:
    """Adds the colour offset and the batch's grey noise pattern scaled per image, and
    clips to [0, 1]. (One pattern per batch, because drawing per-pixel RGB normal noise for
    every image would dominate the cost of the augmentation.)"""
    images = images + offset
    if draws.noise_std is not None:
        images = images + draws.noise_std * math.sqrt(3.0) * draws.noise  # std 1 pattern
    return tf.clip_by_value(images, 0.0, 1.0)


def jpeg_artifacts(image: tf.Tensor, config: AugmentConfig, seed: tf.Tensor) -> tf.Tensor:
    """Re-encodes one [H, W, 3] image as JPEG with random quality, with some probability."""
    if config.jpeg_probability <= 0:
        return image
    rng = SeedStream(seed, 2)
    low, high = config.jpeg_quality_range
    quality = tf.cast(rng.uniform([], low, high + 1), tf.int32)
    return tf.cond(rng.uniform([]) < config.jpeg_probability,
                   lambda: tf.image.adjust_jpeg_quality(image, quality),
                   lambda: image)


def augment_batch(images: tf.Tensor, quads: tf.Tensor, draws: AugmentDraws
                  ) -> tuple[tf.Tensor, tf.Tensor]:
    """Augments a batch with `draws`; quads [B, N, 8] are in the images' pixels and move
    with them. Static shapes throughout, so XLA can compile it.

    Two passes over the batch: blur and colour map, then the warp's sampling fused with the
    colour offset, the noise and the clip. The colour map is linear per pixel and the
    bilinear weights sum to 1, so colouring before the warp gives the same image as after
    it; the blur comes before the geometry too (a blurred scene seen at an angle), which
    for these near-identity warps looks the same. The offset is added after the warp: XLA
    recomputes a gathered operand's arithmetic at every tap of the bilinear sampling.
    """
    photometric_on = draws.colour is not None
    if photometric_on:
        offset = colour_offset(images, draws)
        images = blur_and_colour(images, draws)
    if draws.forward is not None:
        images = warp_images(images, draws.forward)
        quads = transform_quads(quads, draws.forward)
    if photometric_on:
        images = offset_noise_and_clip(images, offset, draws)
    return images, quads

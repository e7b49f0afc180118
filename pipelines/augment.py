"""Training augmentation, in the graph.

Geometry: one random projective matrix per image (rotation, shear, scale, translation,
perspective) moves the pixels and the character quadrilaterals alike, before the targets are
rendered; the warp is bilinear sampling written as gathers, which XLA compiles into one
loop (about 4x faster on CPU than ImageProjectiveTransformV3). Colour: one random affine
colour map per image (saturation, hue, grey, contrast, brightness as a 3x3 matrix and an
offset), blur and noise. Every part can be switched off.
"""

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
    saturation_range: tuple[float, float] = (0.4, 1.4)
    max_hue_degrees: float = 30.0
    grey_probability: float = 0.1
    blur_probability: float = 0.2
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


def warp_images(images: tf.Tensor, forward: tf.Tensor) -> tf.Tensor:
    """Warps [B, H, W, C] so that input point p lands at forward[b] @ p (continuous
    coordinates, pixel i spanning [i, i + 1]); bilinear, edges replicated."""
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    h, w = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    # Output pixel centre -> input point, as broadcast arithmetic: XLA fuses it into the
    # sampling, where a [B, 3, 3] x [3, H * W] product took two extra passes (~15% of all).
    inverse = tf.linalg.inv(forward)
    m = [[inverse[:, i, j][:, None] for j in range(3)] for i in range(3)]
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


def _blur(images: tf.Tensor) -> tf.Tensor:
    """[1, 2, 1] / 4 binomial blur along y then x, edges replicated (shifted adds: XLA fuses
    them, while its CPU depthwise convolution is ~20x slower)."""
    def along(x, axis):
        first = tf.gather(x, [0], axis=axis)
        last = tf.gather(x, [tf.shape(x)[axis] - 1], axis=axis)
        padded = tf.concat([first, x, last], axis=axis)
        n = tf.shape(x)[axis]
        before = tf.gather(padded, tf.range(n), axis=axis)
        after = tf.gather(padded, tf.range(n) + 2, axis=axis)
        return 0.5 * x + 0.25 * (before + after)
    return along(along(images, 1), 2)


def photometric(images: tf.Tensor, config: AugmentConfig, rng: SeedStream,
                noise: tf.Tensor | None = None) -> tf.Tensor:
    """Random colour, contrast, brightness, blur and noise per image of a [B, H, W, 3] batch.

    `noise`: [1, H, W, 1] uniform in [-1, 1], one pattern per batch scaled per image (drawn
    here when None; pass it in under XLA, whose CPU random generator is slow).

    Colour matrix M, contrast c and brightness d make one affine map per image,
    c * M x + (1 - c) * mean(M x) + d, applied in a single pass.
    """
    batch = tf.shape(images)[0]
    per_image = [batch, 1, 1, 1]
    colour = _colour_matrices(batch, config, rng)  # [B, 3, 3]
    contrast = rng.uniform([batch, 1], *config.contrast_range)
    brightness = rng.uniform([batch, 1], -config.max_brightness, config.max_brightness)
    mean_rgb = tf.reduce_mean(images, axis=[1, 2])  # [B, 3]
    grey_mean = tf.reduce_mean(tf.einsum("bij,bj->bi", colour, mean_rgb), axis=1, keepdims=True)
    offset = (1.0 - contrast) * grey_mean + brightness  # [B, 1]
    # The 3x3 map as broadcast multiply-adds (one fused loop under XLA, where a dot with an
    # inner dimension of 3 is slow).
    matrix = (colour * contrast[:, :, None])[:, None, None]  # [B, 1, 1, 3, 3]
    channels = tf.unstack(images, axis=-1)
    images = tf.stack([sum(matrix[..., i, j] * channels[j] for j in range(3))
                       for i in range(3)], axis=-1) + offset[:, None, None, :]
    if config.blur_probability > 0:
        amount = tf.where(rng.uniform(per_image) < config.blur_probability,
                          rng.uniform(per_image, 0.5, 1.0), 0.0)
        images = images + amount * (_blur(images) - images)
    if config.noise_probability > 0:
        std = tf.where(rng.uniform(per_image) < config.noise_probability,
                       rng.uniform(per_image, 0.0, config.max_noise_std), 0.0)
        # One grey uniform noise pattern per batch (standard deviation 1), scaled per image:
        # random draws are the dearest op here, and per-pixel RGB normal noise cost ~45% of
        # the whole augmentation.
        if noise is None:
            noise = rng.uniform(tf.concat([[1], tf.shape(images)[1:3], [1]], 0), -1.0, 1.0)
        images = images + std * math.sqrt(3.0) * noise
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


def augment_batch(images: tf.Tensor, quads: tf.Tensor, config: AugmentConfig,
                  seed: tf.Tensor, noise: tf.Tensor | None = None
                  ) -> tuple[tf.Tensor, tf.Tensor]:
    """Augments a batch; quads [B, N, 8] are in the images' pixels and move with them.
    `seed` [2] determines every random draw. Static shapes throughout, so XLA can compile it."""
    rng = SeedStream(seed)
    if config.geometric:
        shape = images.shape
        forward = random_projective(tf.shape(images)[0], shape[1], shape[2], config, rng)
        images = warp_images(images, forward)
        quads = transform_quads(quads, forward)
    if config.photometric:
        images = photometric(images, config, rng, noise)
    return images, quads

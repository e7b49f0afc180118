"""Training augmentation on whole batches, in the graph.

Geometry: one random projective matrix per image (rotation, shear, scale, translation,
perspective) moves the pixels and the character quadrilaterals alike, before the targets are
rendered. Colour: one random 3x3 colour matrix per image (saturation, hue, grey) plus
brightness, contrast, blur and noise. Every part can be switched off.
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
    """Warps [B, H, W, 3] so that input pixel p lands at forward @ p (edges replicated)."""
    inverse = tf.linalg.inv(forward)
    inverse = inverse / inverse[:, 2:3, 2:3]
    transforms = tf.reshape(inverse, [-1, 9])[:, :8]
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=tf.shape(images)[1:3],
        fill_value=0.0, interpolation="BILINEAR", fill_mode="NEAREST")


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
    taps = tf.constant([0.25, 0.5, 0.25], tf.float32)
    kernel = (taps[:, None] * taps[None, :])[:, :, None, None] * tf.ones([1, 1, 3, 1])
    return tf.nn.depthwise_conv2d(images, kernel, [1, 1, 1, 1], "SAME")


def photometric(images: tf.Tensor, config: AugmentConfig, rng: SeedStream) -> tf.Tensor:
    """Random colour, brightness, contrast, blur and noise per image of a [B, H, W, 3] batch."""
    batch = tf.shape(images)[0]
    per_image = [batch, 1, 1, 1]
    images = tf.einsum("bij,bhwj->bhwi", _colour_matrices(batch, config, rng), images)
    mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    contrast = rng.uniform(per_image, *config.contrast_range)
    brightness = rng.uniform(per_image, -config.max_brightness, config.max_brightness)
    images = (images - mean) * contrast + mean + brightness
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
        shape = tf.concat([[1], tf.shape(images)[1:3], [1]], 0)
        images = images + std * math.sqrt(3.0) * rng.uniform(shape, -1.0, 1.0)
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
                  seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Augments a batch; quads [B, N, 8] are in the images' pixels and move with them.
    `seed` [2] determines every random draw."""
    rng = SeedStream(seed)
    if config.geometric:
        shape = images.shape
        forward = random_projective(tf.shape(images)[0], shape[1], shape[2], config, rng)
        images = warp_images(images, forward)
        quads = transform_quads(quads, forward)
    if config.photometric:
        images = photometric(images, config, rng)
    return images, quads

"""Encoded bytes -> model input: RGB float32 in [0, 1] at a fixed size (in the graph)."""

from __future__ import annotations

import tensorflow as tf

INPUT_HEIGHT = 64
INPUT_WIDTH = 256


def decode_rgb(encoded: tf.Tensor) -> tf.Tensor:
    """Any format TensorFlow reads (JPEG, PNG incl. RGBA/grey, GIF, BMP) -> [h, w, 3] uint8."""
    image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return image


def resize(image: tf.Tensor, height: int = INPUT_HEIGHT, width: int = INPUT_WIDTH,
           keep_aspect: bool = False) -> tuple[tf.Tensor, tf.Tensor]:
    """Resizes [h, w, 3] to [height, width, 3] float32 in [0, 1].

    Returns the image and the [2] (sx, sy) factors that map source pixels to output pixels.
    Without keep_aspect the word is stretched to fill (the paper); with it, it is scaled to
    fit and padded on the right and bottom with edge pixels.
    """
    src = tf.cast(tf.shape(image)[:2], tf.float32)
    image = tf.image.convert_image_dtype(image, tf.float32)
    if not keep_aspect:
        out = tf.image.resize(image, [height, width])
        return out, tf.stack([width / src[1], height / src[0]])
    scale = tf.minimum(height / src[0], width / src[1])
    new_h = tf.clip_by_value(tf.cast(tf.round(src[0] * scale), tf.int32), 1, height)
    new_w = tf.clip_by_value(tf.cast(tf.round(src[1] * scale), tf.int32), 1, width)
    out = tf.image.resize(image, tf.stack([new_h, new_w]))
    mean = tf.reduce_mean(out, axis=[0, 1])
    out = tf.pad(out - mean, [[0, height - new_h], [0, width - new_w], [0, 0]]) + mean
    out = tf.ensure_shape(out, [height, width, 3])
    sx = tf.cast(new_w, tf.float32) / src[1]
    sy = tf.cast(new_h, tf.float32) / src[0]
    return out, tf.stack([sx, sy])


def preprocess_encoded(encoded: tf.Tensor, keep_aspect: bool = False) -> tf.Tensor:
    """Encoded bytes -> [64, 256, 3] float32: the one preprocessing of training and serving."""
    image, _ = resize(decode_rgb(encoded), keep_aspect=keep_aspect)
    return image

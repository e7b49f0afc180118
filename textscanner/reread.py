"""A second reading of the word's own region.

A crop cut loosely (a detector's box, a hand-drawn one) shows the word small, among
background and other text. The first reading's class map says where the characters are; the
image is cut again around them, with a margin, resized to the model's input, and read
again; the more confident reading is kept (BUILD.md, "Loose crops")."""

from __future__ import annotations

import tensorflow as tf


def text_boxes(class_probs: tf.Tensor, threshold: float, margin: float,
               image_aspect: float) -> tf.Tensor:
    """Normalised boxes [B, 4] (y0, x0, y1, x1) around the pixels whose foreground
    probability (1 - background) exceeds `threshold`, widened on every side by `margin` x
    their height and clipped to the image. The whole image where no pixel does.

    class_probs: [B, h, w, C + 1], class 0 the background; image_aspect: width / height of
    the image the boxes apply to (the margin is the same length across and along)."""
    foreground = 1.0 - class_probs[..., 0]
    height, width = foreground.shape[1], foreground.shape[2]
    y0, y1 = _extent(tf.reduce_max(foreground, axis=2) > threshold, height)
    x0, x1 = _extent(tf.reduce_max(foreground, axis=1) > threshold, width)
    found = y1 > y0
    pad_y = margin * (y1 - y0)
    pad_x = pad_y / image_aspect
    boxes = tf.stack([tf.maximum(y0 - pad_y, 0.0), tf.maximum(x0 - pad_x, 0.0),
                      tf.minimum(y1 + pad_y, 1.0), tf.minimum(x1 + pad_x, 1.0)], axis=1)
    return tf.where(found[:, None], boxes, tf.constant([[0.0, 0.0, 1.0, 1.0]]))


def _extent(mask: tf.Tensor, size: int) -> tuple[tf.Tensor, tf.Tensor]:
    """First and one-past-last True index of each row of mask [B, size], over size: [B]
    each (0, 0 for a row without any)."""
    index = tf.range(size, dtype=tf.float32)[None]
    low = tf.reduce_min(tf.where(mask, index, float(size)), axis=1)
    high = tf.reduce_max(tf.where(mask, index, -1.0), axis=1) + 1.0
    found = tf.reduce_any(mask, axis=1)
    return tf.where(found, low / size, 0.0), tf.where(found, high / size, 0.0)


def crop_to(images: tf.Tensor, boxes: tf.Tensor) -> tf.Tensor:
    """Each image [B, H, W, 3] cut to its box and resized back to H x W (bilinear)."""
    size = images.shape[1:3]
    return tf.image.crop_and_resize(images, boxes, tf.range(tf.shape(images)[0]), size)


def more_confident(first: dict[str, tf.Tensor], second: dict[str, tf.Tensor]
                   ) -> dict[str, tf.Tensor]:
    """Per image, every output of the reading with the higher word confidence (the first
    on ties)."""
    use_second = second["confidence"] > first["confidence"]
    out = {}
    for key, value in first.items():
        pick = tf.reshape(use_second, [-1] + [1] * (value.shape.rank - 1))
        out[key] = tf.where(pick, second[key], value)
    return out

"""Ground-truth and predicted maps in colour, computed in the graph (no matplotlib)."""

from __future__ import annotations

import colorsys

import numpy as np
import tensorflow as tf


def palette(num_colours: int) -> np.ndarray:
    """[num_colours + 1, 3] float32 distinct colours; entry 0 (background) is black."""
    colours = [(0.0, 0.0, 0.0)]
    for i in range(num_colours):
        hue = (i * 0.618033988749895) % 1.0
        colours.append(colorsys.hsv_to_rgb(hue, 0.85, 1.0 if i % 2 == 0 else 0.75))
    return np.asarray(colours, np.float32)


def colour_labels(labels: tf.Tensor, num_colours: int) -> tf.Tensor:
    """Integer maps [..., h, w] -> [..., h, w, 3] in [0, 1], background black."""
    table = tf.constant(palette(num_colours))
    return tf.gather(table, tf.clip_by_value(tf.cast(labels, tf.int32), 0, num_colours))


def colour_heat(values: tf.Tensor) -> tf.Tensor:
    """Maps [..., h, w] in [0, 1] -> [..., h, w, 3]: black -> red -> yellow -> white."""
    v = tf.clip_by_value(tf.cast(values, tf.float32), 0.0, 1.0)[..., None]
    return tf.clip_by_value(tf.concat([3 * v, 3 * v - 1, 3 * v - 2], axis=-1), 0.0, 1.0)


def overlay(images: tf.Tensor, colours: tf.Tensor, weight: tf.Tensor | float = 0.6) -> tf.Tensor:
    """Blends colour maps [B, h, w, 3] over images [B, H, W, 3] (resized to match)."""
    size = tf.shape(images)[1:3]
    colours = tf.image.resize(colours, size, method="nearest")
    if not isinstance(weight, float):
        weight = tf.image.resize(tf.cast(weight, tf.float32)[..., None], size, "nearest")
    return tf.clip_by_value((1.0 - weight) * images + weight * colours, 0.0, 1.0)


def map_panels(images: tf.Tensor, class_map: tf.Tensor, order_map: tf.Tensor,
               loc_map: tf.Tensor, num_classes: int, num_slots: int) -> tf.Tensor:
    """[B, 4 * H, W, 3]: the image, then class, order and localisation maps over it."""
    def labelled(labels, n):
        mask = 0.7 * tf.cast(labels > 0, tf.float32)
        return overlay(images, colour_labels(labels, n), mask)

    panels = [images, labelled(class_map, num_classes), labelled(order_map, num_slots),
              overlay(images, colour_heat(loc_map), 0.15 + 0.7 * tf.cast(loc_map, tf.float32))]
    return tf.concat(panels, axis=1)

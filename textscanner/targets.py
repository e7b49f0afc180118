"""Ground-truth maps rendered from character quadrilaterals, in the graph (model.md section 2).

Everything is vectorised over the batch and the characters: no Python loop runs per sample.
Quadrilaterals are `[x1, y1, ..., x4, y4]` in output-map pixels; pixel (i, j) has its centre
at (j + 0.5, i + 0.5).
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class TargetConfig:
    map_height: int = 32
    map_width: int = 128
    shrink: float = 0.5  # class map: quadrilateral shrunk towards its centroid by this ratio
    sigma_scale: float = 0.25  # Gaussian sigma = sigma_scale * box size ...
    min_sigma: float = 1.0  # ... and at least this many pixels
    order_threshold: float = 0.5  # order map: slot k where Y_k >= threshold (zeta)


def quad_geometry(quads: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Centroids [..., 2] (mean of the corners), widths and heights [...] of quads [..., 8]."""
    points = tf.reshape(quads, tf.concat([tf.shape(quads)[:-1], [4, 2]], 0))
    centre = tf.reduce_mean(points, axis=-2)
    p0, p1, p2, p3 = tf.unstack(points, axis=-2)
    width = 0.5 * (tf.norm(p1 - p0, axis=-1) + tf.norm(p2 - p3, axis=-1))
    height = 0.5 * (tf.norm(p3 - p0, axis=-1) + tf.norm(p2 - p1, axis=-1))
    return centre, width, height


def _inside_quads(points: tf.Tensor, height: int, width: int) -> tf.Tensor:
    """[B, N, h, w] bool: pixel centre inside the convex quad points [B, N, 4, 2].

    Each edge's side test is linear in the pixel centre (a * y + b * x + c), so all
    B * N * 4 tests are one matmul against the [3, h * w] grid of (y, x, 1).
    """
    ys, xs = tf.meshgrid(tf.range(height, dtype=tf.float32) + 0.5,
                         tf.range(width, dtype=tf.float32) + 0.5, indexing="ij")
    grid = tf.stack([tf.reshape(ys, [-1]), tf.reshape(xs, [-1]), tf.ones([height * width])])
    # Twice the signed area gives the winding, so either vertex order works.
    x, y = points[..., 0], points[..., 1]
    x_next, y_next = tf.roll(x, -1, axis=-1), tf.roll(y, -1, axis=-1)
    winding = tf.sign(tf.reduce_sum(x * y_next - x_next * y, axis=-1, keepdims=True))
    a = (x_next - x) * winding  # cross((p_{i+1} - p_i), (q - p_i)) = a * qy + b * qx + c
    b = (y - y_next) * winding
    c = -(a * y + b * x)
    coefficients = tf.stack([a, b, c], axis=-1)  # [B, N, 4, 3]
    shape = tf.shape(coefficients)
    sides = tf.reshape(coefficients, [-1, 3]) @ grid  # [B * N * 4, h * w]
    lowest = tf.reduce_min(tf.reshape(sides, [shape[0], shape[1], 4, height, width]), axis=2)
    return (lowest >= 0.0) & (winding != 0.0)[..., None]


def render_targets(quads: tf.Tensor, class_ids: tf.Tensor, valid: tf.Tensor,
                   config: TargetConfig = TargetConfig()) -> dict[str, tf.Tensor]:
    """Renders the three maps for a batch.

    Args:
      quads: [B, N, 8] float32 character quadrilaterals in output-map pixels, reading order.
      class_ids: [B, N] int32 class of each character (1..C).
      valid: [B, N] bool, True for real characters with boxes.
    Returns:
      class_map [B, h, w] int32 (0 = background, later characters overwrite earlier ones),
      order_map [B, h, w] int32 (slot k = 1..N, 0 = background),
      loc_map [B, h, w] float32 (max over the characters' Gaussians, peak 1).
    """
    h, w = config.map_height, config.map_width
    quads = tf.convert_to_tensor(quads, tf.float32)
    batch = tf.shape(quads)[0]
    # At least one slot, so that the reductions below are never over an empty axis.
    pad = tf.maximum(1 - tf.shape(quads)[1], 0)
    quads = tf.pad(quads, [[0, 0], [0, pad], [0, 0]])
    class_ids = tf.pad(tf.cast(class_ids, tf.int32), [[0, 0], [0, pad]])
    valid = tf.pad(tf.cast(valid, tf.bool), [[0, 0], [0, pad]])
    valid_f = tf.cast(valid, tf.float32)

    centre, box_w, box_h = quad_geometry(quads)  # [B, N, 2], [B, N], [B, N]
    points = tf.reshape(quads, [batch, -1, 4, 2])
    shrunk = centre[:, :, None, :] + config.shrink * (points - centre[:, :, None, :])

    # Class map: shrunk quads; a character too small to hold a pixel centre gets the pixel
    # nearest to its centre.
    inside = _inside_quads(shrunk, h, w) & valid[..., None, None]
    slots = tf.range(1, tf.shape(quads)[1] + 1, dtype=tf.int32)
    last = tf.reduce_max(tf.cast(inside, tf.int32) * slots[None, :, None, None], axis=1)
    has_pixel = tf.reduce_any(inside, axis=[2, 3])
    fallback = tf.where(valid & ~has_pixel)  # [M, 2] (batch, slot) of pixel-less characters
    col = tf.clip_by_value(tf.cast(tf.floor(centre[..., 0]), tf.int32), 0, w - 1)
    row = tf.clip_by_value(tf.cast(tf.floor(centre[..., 1]), tf.int32), 0, h - 1)
    at = tf.stack([tf.cast(fallback[:, 0], tf.int32), tf.gather_nd(row, fallback),
                   tf.gather_nd(col, fallback)], axis=1)
    last = tf.tensor_scatter_nd_max(last, at, tf.cast(fallback[:, 1], tf.int32) + 1)
    class_table = tf.pad(class_ids, [[0, 0], [1, 0]])  # index 0 -> background
    class_map = tf.gather(class_table, last, batch_dims=1)

    # Gaussians, separable in x and y.
    xs = tf.range(w, dtype=tf.float32) + 0.5
    ys = tf.range(h, dtype=tf.float32) + 0.5
    sx = tf.maximum(config.sigma_scale * box_w, config.min_sigma)
    sy = tf.maximum(config.sigma_scale * box_h, config.min_sigma)
    gx = tf.exp(-tf.square(xs - centre[..., 0:1]) / (2.0 * tf.square(sx[..., None])))
    gy = tf.exp(-tf.square(ys - centre[..., 1:2]) / (2.0 * tf.square(sy[..., None])))
    gauss = (gy * valid_f[..., None])[..., :, None] * gx[..., None, :]  # [B, N, h, w]

    loc_map = tf.reduce_max(gauss, axis=1)
    best = tf.cast(tf.argmax(gauss, axis=1, output_type=tf.int32), tf.int32) + 1
    order_map = tf.where(loc_map >= config.order_threshold, best, 0)
    return {"class_map": class_map, "order_map": order_map, "loc_map": loc_map}

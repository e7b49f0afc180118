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


def _row_intervals(points: tf.Tensor, height: int) -> tuple[tf.Tensor, tf.Tensor]:
    """[B, N, h] bounds (low, high): the pixel centre (x, row + 0.5) is inside the convex quad
    points [B, N, 4, 2] iff low <= x <= high (empty rows have low > high).

    A horizontal line meets a convex quad in one interval, so each edge's side test
    (a * y + b * x + c >= 0) is solved for x once per row: the [B, N, 4, h] bounds are cheap
    and the per-pixel work is two comparisons.
    """
    x, y = points[..., 0], points[..., 1]  # [B, N, 4]
    x_next, y_next = tf.roll(x, -1, axis=-1), tf.roll(y, -1, axis=-1)
    # Twice the signed area gives the winding, so either vertex order works.
    winding = tf.sign(tf.reduce_sum(x * y_next - x_next * y, axis=-1, keepdims=True))
    a = (x_next - x) * winding  # cross((p_{i+1} - p_i), (q - p_i)) = a * qy + b * qx + c
    b = (y - y_next) * winding
    c = -(a * y + b * x)
    rows = tf.range(height, dtype=tf.float32) + 0.5
    t = a[..., None] * rows + c[..., None]  # [B, N, 4, h]: the test is b * qx + t >= 0
    b = b[..., None]
    bound = -t / tf.where(b == 0.0, 1.0, b)
    inf = tf.constant(float("inf"))
    low = tf.reduce_max(tf.where(b > 0.0, bound, -inf), axis=2)  # [B, N, h]
    high = tf.reduce_min(tf.where(b < 0.0, bound, inf), axis=2)
    # An edge parallel to the rows excludes the whole row or nothing.
    row_ok = tf.reduce_all((b != 0.0) | (t >= 0.0), axis=2) & (winding != 0.0)
    return low, tf.where(row_ok, high, -inf)


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

    centre, box_w, box_h = quad_geometry(quads)  # [B, N, 2], [B, N], [B, N]
    points = tf.reshape(quads, [batch, -1, 4, 2])
    shrunk = centre[:, :, None, :] + config.shrink * (points - centre[:, :, None, :])

    # Per-pixel work is laid out [B, h, w, N]: reductions over the last axis vectorise well.
    slots = tf.range(1, tf.shape(quads)[1] + 1, dtype=tf.int32)
    cols = tf.range(w, dtype=tf.float32) + 0.5

    # Class map: shrunk quads, the later character wins where they overlap.
    low, high = _row_intervals(shrunk, h)  # [B, N, h]
    high = tf.where(valid[..., None], high, -float("inf"))
    low_t = tf.transpose(low, [0, 2, 1])[:, :, None, :]  # [B, h, 1, N]
    high_t = tf.transpose(high, [0, 2, 1])[:, :, None, :]
    inside = (cols[:, None] >= low_t) & (cols[:, None] <= high_t)  # [B, h, w, N]
    last = tf.reduce_max(tf.where(inside, slots, 0), axis=-1)
    # A character too small to hold a pixel centre gets the pixel nearest to its centre: one
    # scatter over all B * N characters (value 0 for the others), so shapes stay static.
    first_col = tf.maximum(tf.math.ceil(low - 0.5), 0.0)
    last_col = tf.minimum(tf.floor(high - 0.5), w - 1.0)
    has_pixel = tf.reduce_any(first_col <= last_col, axis=-1)  # [B, N]
    col = tf.clip_by_value(tf.cast(tf.floor(centre[..., 0]), tf.int32), 0, w - 1)
    row = tf.clip_by_value(tf.cast(tf.floor(centre[..., 1]), tf.int32), 0, h - 1)
    rows_b = tf.broadcast_to(tf.range(batch)[:, None], tf.shape(row))
    at = tf.reshape(tf.stack([rows_b, row, col], axis=-1), [-1, 3])
    fallback = tf.where(valid & ~has_pixel, slots[None, :], 0)
    last = tf.tensor_scatter_nd_max(last, at, tf.reshape(fallback, [-1]))
    class_table = tf.pad(class_ids, [[0, 0], [1, 0]])  # index 0 -> background
    class_map = tf.gather(class_table, last, batch_dims=1)

    # Gaussians, separable in x and y.
    ys = tf.range(h, dtype=tf.float32) + 0.5
    sx = tf.maximum(config.sigma_scale * box_w, config.min_sigma)[:, None, :]  # [B, 1, N]
    sy = tf.maximum(config.sigma_scale * box_h, config.min_sigma)[:, None, :]
    cx, cy = centre[:, None, :, 0], centre[:, None, :, 1]  # [B, 1, N]
    gx = tf.exp(-tf.square(cols[:, None] - cx) / (2.0 * tf.square(sx)))  # [B, w, N]
    gy = tf.exp(-tf.square(ys[:, None] - cy) / (2.0 * tf.square(sy)))  # [B, h, N]
    gy = tf.where(valid[:, None, :], gy, 0.0)
    gauss = gy[:, :, None, :] * gx[:, None, :, :]  # [B, h, w, N]

    loc_map = tf.reduce_max(gauss, axis=-1)
    best = tf.argmax(gauss, axis=-1, output_type=tf.int32) + 1
    order_map = tf.where(loc_map >= config.order_threshold, best, 0)
    return {"class_map": class_map, "order_map": order_map, "loc_map": loc_map}

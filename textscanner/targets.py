"""Ground-truth maps rendered from character quadrilaterals, in the graph (model.md section 2).

Everything is vectorised over the batch: no Python loop runs per sample. Per-row intervals
of each quadrilateral and the separable Gaussians are computed for all characters at once; the
characters are then painted one after another onto [B, h, w] maps in a graph loop, so the
per-pixel work is a few fused passes per character (XLA-compiled in the input pipeline).
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
                   config: TargetConfig = TargetConfig(),
                   num_slots: tf.Tensor | None = None) -> dict[str, tf.Tensor]:
    """Renders the three maps for a batch.

    Args:
      quads: [B, N, 8] float32 character quadrilaterals in output-map pixels, reading order.
      class_ids: [B, N] int32 class of each character (1..C).
      valid: [B, N] bool, True for real characters with boxes.
      num_slots: scalar int32, paint only the first num_slots characters (default N): with
        the longest word of the batch here, shapes stay fixed (one XLA program) while the
        work follows the batch.
    Returns:
      class_map [B, h, w] int32 (0 = background, later characters overwrite earlier ones),
      order_map [B, h, w] int32 (slot k = 1..N, 0 = background),
      loc_map [B, h, w] float32 (max over the characters' Gaussians, peak 1).
    """
    h, w = config.map_height, config.map_width
    quads = tf.convert_to_tensor(quads, tf.float32)
    batch = tf.shape(quads)[0]
    # At least one slot, so that no zero-size character axis reaches the ops below.
    pad = tf.maximum(1 - tf.shape(quads)[1], 0)
    quads = tf.pad(quads, [[0, 0], [0, pad], [0, 0]])
    class_ids = tf.pad(tf.cast(class_ids, tf.int32), [[0, 0], [0, pad]])
    valid = tf.pad(tf.cast(valid, tf.bool), [[0, 0], [0, pad]])

    centre, box_w, box_h = quad_geometry(quads)  # [B, N, 2], [B, N], [B, N]
    points = tf.reshape(quads, [batch, -1, 4, 2])
    shrunk = centre[:, :, None, :] + config.shrink * (points - centre[:, :, None, :])

    cols = tf.range(w, dtype=tf.float32) + 0.5
    ys = tf.range(h, dtype=tf.float32) + 0.5
    low, high = _row_intervals(shrunk, h)  # [B, N, h], shrunk quads
    high = tf.where(valid[..., None], high, -float("inf"))
    # Gaussians, separable in x and y.
    sx = tf.maximum(config.sigma_scale * box_w, config.min_sigma)[..., None]  # [B, N, 1]
    sy = tf.maximum(config.sigma_scale * box_h, config.min_sigma)[..., None]
    gx = tf.exp(-tf.square(cols - centre[..., 0:1]) / (2.0 * tf.square(sx)))  # [B, N, w]
    gy = tf.exp(-tf.square(ys - centre[..., 1:2]) / (2.0 * tf.square(sy)))  # [B, N, h]
    gy = tf.where(valid[..., None], gy, 0.0)

    # Characters are painted one after the other onto [B, h, w] maps: every step is one
    # fused, vectorised pass over the batch (no [B, N, h, w] tensor, no reduction over N).
    # Class map: the later character wins where shrunk quads overlap. Gaussians: the first
    # character with the largest value wins (strictly greater replaces).
    class_ids = tf.cast(class_ids, tf.int32)
    per_slot = [tf.transpose(t, [1, 0, 2]) for t in (low, high, gy, gx)]  # [N, B, .]
    per_slot.append(tf.transpose(class_ids)[:, :, None, None])  # [N, B, 1, 1]

    def paint(n, last, class_map, loc, best):
        low_n, high_n, gy_n, gx_n, class_n = (t[n] for t in per_slot)
        inside = (cols >= low_n[..., None]) & (cols <= high_n[..., None])  # [B, h, w]
        gauss = gy_n[:, :, None] * gx_n[:, None, :]
        better = gauss > loc
        return (n + 1, tf.where(inside, n + 1, last), tf.where(inside, class_n, class_map),
                tf.where(better, gauss, loc), tf.where(better, n + 1, best))

    slot_count = tf.shape(quads)[1] if num_slots is None else tf.minimum(
        tf.cast(num_slots, tf.int32), tf.shape(quads)[1])
    zeros = tf.zeros([batch, h, w], tf.int32)
    _, last, class_map, loc_map, best = tf.while_loop(
        lambda n, *_: n < slot_count, paint,
        (tf.constant(0), zeros, zeros, tf.zeros([batch, h, w]), zeros))
    order_map = tf.where(loc_map >= config.order_threshold, best, 0)

    # A character too small to hold a pixel centre gets the pixel nearest to its centre,
    # unless a later character covers that pixel: B * N point updates (static shapes).
    first_col = tf.maximum(tf.math.ceil(low - 0.5), 0.0)
    last_col = tf.minimum(tf.floor(high - 0.5), w - 1.0)
    has_pixel = tf.reduce_any(first_col <= last_col, axis=-1)  # [B, N]
    slots = tf.range(1, tf.shape(quads)[1] + 1, dtype=tf.int32)
    col = tf.clip_by_value(tf.cast(tf.floor(centre[..., 0]), tf.int32), 0, w - 1)
    row = tf.clip_by_value(tf.cast(tf.floor(centre[..., 1]), tf.int32), 0, h - 1)
    rows_b = tf.broadcast_to(tf.range(batch)[:, None], tf.shape(row))
    at = tf.reshape(tf.stack([rows_b, row, col], axis=-1), [-1, 3])
    fallback = tf.reshape(tf.where(valid & ~has_pixel, slots[None, :], 0), [-1])
    winner = tf.tensor_scatter_nd_max(last, at, fallback)
    winner = tf.gather_nd(winner, at)  # [B * N] slot that owns each point
    class_table = tf.pad(class_ids, [[0, 0], [1, 0]])  # index 0 -> background
    owner_class = tf.gather(class_table, tf.reshape(winner, tf.shape(row)), batch_dims=1)
    class_map = tf.tensor_scatter_nd_update(
        class_map, at, tf.where(winner > 0, tf.reshape(owner_class, [-1]),
                                tf.gather_nd(class_map, at)))
    return {"class_map": class_map, "order_map": order_map, "loc_map": loc_map}

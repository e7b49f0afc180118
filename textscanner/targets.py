"""Ground-truth maps rendered from character quadrilaterals, in the graph (docs/model.md,
section 2).

Everything is vectorised over the batch: no Python loop runs per sample. The per-row
intervals of the quadrilaterals and the separable Gaussians are computed for all characters
a step at a time (`_paint_geometry`); the characters are painted in reading order onto
[B, h, w] maps by a loop whose step is unrolled over SLOTS_PER_STEP characters, which XLA
fuses into one pass per map: no [B, N, h, w] tensor, and no map read back between the
characters of a step (on this CPU the passes over memory, not the arithmetic, are what
costs). The loop stops after the batch's longest word.
Quadrilaterals are `[x1, y1, ..., x4, y4]` in output-map pixels; pixel (i, j) has its centre
at (j + 0.5, i + 0.5).
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from textscanner.config import INPUT_HEIGHT, INPUT_WIDTH, map_size

_DEFAULT_MAP = map_size(INPUT_HEIGHT, INPUT_WIDTH)


@dataclasses.dataclass(frozen=True)
class TargetConfig:
    map_height: int = _DEFAULT_MAP[0]
    map_width: int = _DEFAULT_MAP[1]
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


def _paint_geometry(points: tf.Tensor, valid: tf.Tensor, config: TargetConfig
                    ) -> tuple[tf.Tensor, ...]:
    """Per character of points [..., 4, 2]: the row intervals (low, high) [..., h] of its
    shrunk quad and its Gaussian's factors gy [..., h] and gx [..., w]; invalid characters
    paint nothing."""
    h, w = config.map_height, config.map_width
    cols = tf.range(w, dtype=tf.float32) + 0.5
    rows = tf.range(h, dtype=tf.float32) + 0.5
    centre, box_w, box_h = quad_geometry(
        tf.reshape(points, tf.concat([tf.shape(points)[:-2], [8]], 0)))
    shrunk = centre[..., None, :] + config.shrink * (points - centre[..., None, :])
    low, high = _row_intervals(shrunk, h)
    high = tf.where(valid[..., None], high, -float("inf"))
    # A character too small to hold a pixel centre gets the pixel nearest to its centre: on
    # that row its interval becomes that pixel, painted in order like any other (so a later
    # character covering the pixel still wins).
    first_col = tf.maximum(tf.math.ceil(low - 0.5), 0.0)
    last_col = tf.minimum(tf.floor(high - 0.5), w - 1.0)
    has_pixel = tf.reduce_any(first_col <= last_col, axis=-1)
    centre_col = tf.clip_by_value(tf.floor(centre[..., 0]), 0.0, w - 1.0) + 0.5
    centre_row = tf.clip_by_value(tf.floor(centre[..., 1]), 0.0, h - 1.0) + 0.5
    at_centre = (rows == centre_row[..., None]) & (valid & ~has_pixel)[..., None]
    low = tf.where(at_centre, centre_col[..., None], low)
    high = tf.where(at_centre, centre_col[..., None], high)
    # Gaussians, separable in x and y.
    sx = tf.maximum(config.sigma_scale * box_w, config.min_sigma)[..., None]  # [..., 1]
    sy = tf.maximum(config.sigma_scale * box_h, config.min_sigma)[..., None]
    gx = tf.exp(-tf.square(cols - centre[..., 0:1]) / (2.0 * tf.square(sx)))
    gy = tf.exp(-tf.square(rows - centre[..., 1:2]) / (2.0 * tf.square(sy)))
    return low, high, tf.where(valid[..., None], gy, 0.0), gx


# Characters painted per loop step, unrolled into one fused pass per map. A batch whose
# longest word fits takes one step; longer words take more, each reading the maps back.
SLOTS_PER_STEP = 12


def render_targets(quads: tf.Tensor, class_ids: tf.Tensor, valid: tf.Tensor,
                   config: TargetConfig = TargetConfig(),
                   num_slots: tf.Tensor | None = None) -> dict[str, tf.Tensor]:
    """Renders the three maps for a batch.

    Args:
      quads: [B, N, 8] float32 character quadrilaterals in output-map pixels, reading order.
      class_ids: [B, N] int32 class of each character (1..C).
      valid: [B, N] bool, True for real characters with boxes.
      num_slots: scalar int32, paint only the first num_slots characters (default N): with
        the longest word of the batch here, shapes stay fixed (one XLA compile) while the
        work follows the batch.
    Returns:
      class_map [B, h, w] int32 (0 = background, later characters overwrite earlier ones),
      order_map [B, h, w] int32 (slot k = 1..N, 0 = background),
      loc_map [B, h, w] float32 (max over the characters' Gaussians, peak 1).
    """
    h, w = config.map_height, config.map_width
    quads = tf.convert_to_tensor(quads, tf.float32)
    n = quads.shape[1]
    if n is None:
        raise ValueError("render_targets needs a static number of character slots")
    batch = tf.shape(quads)[0]
    if n == 0:  # one empty slot, so that no zero-size character axis reaches the ops below
        quads, class_ids, valid, n = (tf.zeros([batch, 1, 8]), tf.zeros([batch, 1], tf.int32),
                                      tf.zeros([batch, 1], tf.bool), 1)
    painted = n if num_slots is None else tf.minimum(tf.cast(num_slots, tf.int32), n)
    step = SLOTS_PER_STEP
    # Slot-major, padded to whole steps with slots that are not valid (they paint nothing).
    pad = (-n) % step
    points = tf.pad(tf.transpose(tf.reshape(quads, [batch, n, 4, 2]), [1, 0, 2, 3]),
                    [[0, pad], [0, 0], [0, 0], [0, 0]])
    class_ids = tf.pad(tf.transpose(tf.cast(class_ids, tf.int32)), [[0, pad], [0, 0]])
    valid = tf.pad(tf.transpose(tf.cast(valid, tf.bool) & (tf.range(n) < painted)),
                   [[0, pad], [0, 0]])
    cols = tf.range(w, dtype=tf.float32) + 0.5

    def paint(first, class_map, loc, best):
        """Paints the `step` characters from slot `first` onto the maps."""
        slots = first + tf.range(step)
        ids = tf.gather(class_ids, slots)  # [S, B]
        low, high, gy, gx = _paint_geometry(tf.gather(points, slots), tf.gather(valid, slots),
                                            config)  # [S, B, h], [S, B, h], [S, B, h], [S, B, w]
        # Class map: the later character wins where shrunk quads overlap. Gaussians: the
        # first character with the largest value wins (strictly greater replaces).
        for k in range(step):
            inside = (cols >= low[k][..., None]) & (cols <= high[k][..., None])  # [B, h, w]
            class_map = tf.where(inside, ids[k][:, None, None], class_map)
            gauss = gy[k][:, :, None] * gx[k][:, None, :]
            better = gauss > loc
            loc = tf.where(better, gauss, loc)
            best = tf.where(better, first + k + 1, best)
        return first + step, class_map, loc, best

    zeros = tf.zeros([batch, h, w], tf.int32)
    # The first step outside the loop: painted from constants, the maps are written once.
    state = paint(tf.constant(0), zeros, tf.zeros([batch, h, w]), zeros)
    _, class_map, loc_map, best = tf.while_loop(lambda first, *_: first < painted, paint, state)
    order_map = tf.where(loc_map >= config.order_threshold, best, 0)
    return {"class_map": class_map, "order_map": order_map, "loc_map": loc_map}

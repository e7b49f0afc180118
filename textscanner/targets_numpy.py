"""A plain numpy rendering of the ground-truth maps, one character and pixel at a time.

The readable reference for textscanner.targets (tests compare the two) and the renderer of
the Python-side baseline loader in `benchmark --what=input`. Far too slow for training.
"""

from __future__ import annotations

import numpy as np

from textscanner.targets import TargetConfig


def _inside_convex(point: np.ndarray, quad: np.ndarray) -> bool:
    """Point [2] inside (or on the border of) the convex quadrilateral [4, 2]."""
    area2 = sum(quad[i, 0] * quad[(i + 1) % 4, 1] - quad[(i + 1) % 4, 0] * quad[i, 1]
                for i in range(4))
    if area2 == 0:
        return False
    sides = []
    for i in range(4):
        p, q = quad[i], quad[(i + 1) % 4]
        sides.append((q[0] - p[0]) * (point[1] - p[1]) - (q[1] - p[1]) * (point[0] - p[0]))
    return all(s * np.sign(area2) >= 0 for s in sides)


def render_targets_numpy(quads: np.ndarray, class_ids: np.ndarray,
                         config: TargetConfig = TargetConfig()) -> dict[str, np.ndarray]:
    """Maps for one sample; quads [n, 8] in output-map pixels, class_ids [n]."""
    h, w = config.map_height, config.map_width
    class_map = np.zeros((h, w), np.int32)
    best = np.zeros((h, w), np.float64)
    order_slot = np.zeros((h, w), np.int32)
    for k, (quad, cls) in enumerate(zip(np.asarray(quads, np.float64).reshape(-1, 4, 2),
                                        class_ids)):
        centre = quad.mean(axis=0)
        shrunk = centre + config.shrink * (quad - centre)
        painted = False
        for i in range(h):
            for j in range(w):
                if _inside_convex(np.array([j + 0.5, i + 0.5]), shrunk):
                    class_map[i, j] = cls
                    painted = True
        if not painted:
            i = min(max(int(np.floor(centre[1])), 0), h - 1)
            j = min(max(int(np.floor(centre[0])), 0), w - 1)
            class_map[i, j] = cls
        box_w = 0.5 * (np.linalg.norm(quad[1] - quad[0]) + np.linalg.norm(quad[2] - quad[3]))
        box_h = 0.5 * (np.linalg.norm(quad[3] - quad[0]) + np.linalg.norm(quad[2] - quad[1]))
        sx = max(config.sigma_scale * box_w, config.min_sigma)
        sy = max(config.sigma_scale * box_h, config.min_sigma)
        for i in range(h):
            for j in range(w):
                g = np.exp(-((j + 0.5 - centre[0]) ** 2 / (2 * sx * sx)
                             + (i + 0.5 - centre[1]) ** 2 / (2 * sy * sy)))
                if g > best[i, j]:
                    best[i, j] = g
                    order_slot[i, j] = k + 1
    order_map = np.where(best >= config.order_threshold, order_slot, 0).astype(np.int32)
    return {"class_map": class_map, "order_map": order_map, "loc_map": best.astype(np.float32)}

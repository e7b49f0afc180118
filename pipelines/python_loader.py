"""The baseline we replace: a Keras PyDataset that decodes with PIL and renders in numpy.

Used only by `benchmark --what=input` to measure how much the tf.data pipeline gains over
the Python-side loader a first implementation typically has. Not for training.
"""

from __future__ import annotations

import io

import keras
import numpy as np
from PIL import Image

from pipelines.decode import INPUT_HEIGHT, INPUT_WIDTH
from pipelines.records import WordRecord
from textscanner.charset import Charset
from textscanner.targets import TargetConfig


def render_targets_vectorised_numpy(quads: np.ndarray, ids: np.ndarray,
                                    cfg: TargetConfig) -> tuple[np.ndarray, ...]:
    """Per-sample numpy rendering, vectorised over pixels and characters."""
    h, w = cfg.map_height, cfg.map_width
    pts = quads.reshape(-1, 4, 2).astype(np.float32)
    centre = pts.mean(1)
    shrunk = centre[:, None] + cfg.shrink * (pts - centre[:, None])
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
    nxt = np.roll(shrunk, -1, axis=1)
    cross = ((nxt[..., 0] - shrunk[..., 0])[..., None, None] * (ys - shrunk[..., 1, None, None])
             - (nxt[..., 1] - shrunk[..., 1])[..., None, None] * (xs - shrunk[..., 0, None, None]))
    inside = np.all(cross >= 0, axis=1) | np.all(cross <= 0, axis=1)
    # initial=0: a record without character boxes (word-only) has an empty class map.
    slot = np.max(np.where(inside, np.arange(1, len(pts) + 1)[:, None, None], 0), axis=0,
                  initial=0)
    class_map = np.concatenate([[0], ids])[slot]
    bw = 0.5 * (np.linalg.norm(pts[:, 1] - pts[:, 0], axis=-1)
                + np.linalg.norm(pts[:, 2] - pts[:, 3], axis=-1))
    bh = 0.5 * (np.linalg.norm(pts[:, 3] - pts[:, 0], axis=-1)
                + np.linalg.norm(pts[:, 2] - pts[:, 1], axis=-1))
    sx = np.maximum(cfg.sigma_scale * bw, cfg.min_sigma)[:, None, None]
    sy = np.maximum(cfg.sigma_scale * bh, cfg.min_sigma)[:, None, None]
    gauss = np.exp(-((xs - centre[:, 0, None, None]) ** 2 / (2 * sx ** 2)
                     + (ys - centre[:, 1, None, None]) ** 2 / (2 * sy ** 2)))
    loc = gauss.max(0) if len(pts) else np.zeros((h, w), np.float32)
    order = np.where(loc >= cfg.order_threshold, gauss.argmax(0) + 1, 0) if len(pts) else \
        np.zeros((h, w), np.int64)
    return class_map, order, loc


class PythonWordLoader(keras.utils.PyDataset):
    """Batches of the same arrays as the tf.data pipeline, built in Python."""

    def __init__(self, records: list[WordRecord], charset: Charset, batch_size: int,
                 targets: TargetConfig = TargetConfig(), **kwargs):
        super().__init__(**kwargs)
        self.records, self.charset, self.batch_size, self.targets = \
            records, charset, batch_size, targets

    def __len__(self) -> int:
        return len(self.records) // self.batch_size

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        batch = self.records[index * self.batch_size:(index + 1) * self.batch_size]
        out: dict[str, list] = {"image": [], "class_map": [], "order_map": [], "loc_map": []}
        scale_to_map = np.array([self.targets.map_width, self.targets.map_height] * 4)
        for rec in batch:
            image = Image.open(io.BytesIO(rec.image)).convert("RGB")
            out["image"].append(np.asarray(image.resize((INPUT_WIDTH, INPUT_HEIGHT),
                                                        Image.BILINEAR), np.float32) / 255.0)
            quads = (rec.char_boxes if rec.char_boxes is not None else np.zeros((0, 8))) \
                / np.array([rec.width, rec.height] * 4) * scale_to_map
            ids = np.array(self.charset.encode(rec.text).ids[:len(quads)])
            for key, value in zip(("class_map", "order_map", "loc_map"),
                                  render_targets_vectorised_numpy(quads, ids, self.targets)):
                out[key].append(value)
        return {k: np.stack(v) for k, v in out.items()}

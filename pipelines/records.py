"""A word image with its label, as stored in one TFRecord example (no TensorFlow needed)."""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass
class WordRecord:
    """One validated sample: encoded image, its decoded size, text and optional boxes."""

    image: bytes
    height: int
    width: int
    text: str
    source: str
    # [len(text), 8] quadrilaterals (x1 y1 ... x4 y4, clockwise from top-left) in image
    # pixels, or None for a word-level label only.
    char_boxes: np.ndarray | None = None
    # The label as given, where `text` leaves unread symbols out of it (never stored).
    unread: str = ""
    # Whether `image` was turned upright as the source's EXIF orientation said (never stored).
    turned_upright: bool = False
    # Whether `image` is stored smaller than the source (pipelines/stored_size.py; never stored).
    shrunk: bool = False

    def __post_init__(self):
        if self.char_boxes is not None:
            self.char_boxes = np.asarray(self.char_boxes, np.float32).reshape(-1, 8)
            if len(self.char_boxes) != len(self.text):
                raise ValueError(f"{self.source}: {len(self.char_boxes)} boxes for "
                                 f"{len(self.text)} characters")

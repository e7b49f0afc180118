"""Shared test helpers: real image files, label files and small TFRecord sets on disk."""

from __future__ import annotations

import io
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402


def encode_image(array: np.ndarray, fmt: str = "PNG", **kwargs) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format=fmt, **kwargs)
    return out.getvalue()


def write_image(path: str, width: int = 40, height: int = 16, fmt: str = "PNG",
                mode: str = "RGB", seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8))
    image.convert(mode).save(path, format=fmt)
    return path


@pytest.fixture
def image_dir(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    return folder

"""Builders of small real TFRecord sets for tests."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from PIL import Image

from pipelines import convert
from pipelines.records import WordRecord
from pipelines.report import ConversionReport
from tests.conftest import encode_image


def block_word(text: str, width: int = 160, height: int = 40, seed: int = 0,
               with_boxes: bool = True) -> WordRecord:
    """White image with one dark solid block per character; boxes = the blocks."""
    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), 255, np.uint8)
    step = width / (len(text) + 1)
    quads = []
    for k in range(len(text)):
        x0 = int(step * (k + 0.5) + rng.integers(0, 3))
        x1 = int(x0 + step * 0.7)
        y0, y1 = int(height * 0.2), int(height * 0.8)
        image[y0:y1, x0:x1] = 0
        quads.append([x0, y0, x1, y0, x1, y1, x0, y1])
    return WordRecord(image=encode_image(image), height=height, width=width, text=text,
                      source=f"blocks:{seed}", char_boxes=np.array(quads) if with_boxes else None)


def save_affine_word_scene(path, offset: np.ndarray, linear: np.ndarray,
                           crop_size: tuple[int, int], size: tuple[int, int]) -> None:
    """A grey scene (`size` = width, height) holding a word crop of `crop_size` drawn by the
    affine map scene = offset + linear @ crop: the crop's left half black, its right half
    white. Cutting the word out must give back those halves."""
    (crop_w, crop_h), (width, height) = crop_size, size
    ys, xs = np.mgrid[0:height, 0:width] + 0.5
    crop = (np.stack([xs, ys], -1) - offset) @ np.linalg.inv(linear).T
    u, v = crop[..., 0], crop[..., 1]
    inside = (u >= 0) & (u < crop_w) & (v >= 0) & (v < crop_h)
    pixels = np.where(inside, np.where(u < crop_w / 2, 0, 255), 128).astype(np.uint8)
    Image.fromarray(np.stack([pixels] * 3, -1)).save(path, quality=95)


def write_records(prefix: str, records: list[WordRecord], num_shards: int = 2) -> list[str]:
    """The records as sharded TFRecords, written by the project's own writer."""
    return convert.write_records(records, prefix, num_shards, ConversionReport()).shards


def compiled_inference(model: keras.Model) -> tf.types.experimental.PolymorphicFunction:
    """`model(images, training=False)` as a tf.function, as evaluation and serving run it
    (and cheaper than eagerly, where the GRU's loop is hundreds of single-op dispatches)."""
    return tf.function(lambda images: model(images, training=False))


def assert_label_file_error(read, path, content: str, message: str) -> None:
    """A label file holding `content` stops `read` with LabelFileError naming the file and
    matching `message`."""
    import pytest
    from pipelines.validation import LabelFileError
    path.write_text(content)
    with pytest.raises(LabelFileError, match=message) as raised:
        list(read(str(path)))
    assert str(path) in str(raised.value)

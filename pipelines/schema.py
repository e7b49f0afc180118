"""The TFRecord schema: one tf.train.Example per word image (docs/interfaces.md)."""

from __future__ import annotations

from typing import Iterator

import numpy as np
import tensorflow as tf

from pipelines.records import WordRecord
from pipelines.tfdata_options import without_autotuning

IMAGE = "image/encoded"
HEIGHT = "image/height"
WIDTH = "image/width"
TEXT = "text"
CHAR_BOXES = "char_boxes"
SOURCE = "source"

FEATURES = {
    IMAGE: tf.io.FixedLenFeature([], tf.string),
    HEIGHT: tf.io.FixedLenFeature([], tf.int64),
    WIDTH: tf.io.FixedLenFeature([], tf.int64),
    TEXT: tf.io.FixedLenFeature([], tf.string),
    CHAR_BOXES: tf.io.VarLenFeature(tf.float32),
    SOURCE: tf.io.FixedLenFeature([], tf.string, default_value=""),
}


def _bytes(value: bytes) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _int(value: int) -> tf.train.Feature:
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))


def serialize(record: WordRecord) -> bytes:
    """A WordRecord as a serialized tf.train.Example."""
    boxes = [] if record.char_boxes is None else record.char_boxes.reshape(-1).tolist()
    feature = {
        IMAGE: _bytes(record.image),
        HEIGHT: _int(record.height),
        WIDTH: _int(record.width),
        TEXT: _bytes(record.text.encode("utf-8")),
        CHAR_BOXES: tf.train.Feature(float_list=tf.train.FloatList(value=boxes)),
        SOURCE: _bytes(record.source.encode("utf-8")),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def deserialize(serialized: bytes) -> WordRecord:
    """Parses one serialized example in Python (for tools and tests, not the hot path)."""
    example = tf.train.Example.FromString(serialized)
    f = example.features.feature
    boxes = np.asarray(f[CHAR_BOXES].float_list.value, np.float32)
    text = f[TEXT].bytes_list.value[0].decode("utf-8")
    return WordRecord(
        image=f[IMAGE].bytes_list.value[0],
        height=int(f[HEIGHT].int64_list.value[0]),
        width=int(f[WIDTH].int64_list.value[0]),
        text=text,
        source=f[SOURCE].bytes_list.value[0].decode("utf-8") if f[SOURCE].bytes_list.value else "",
        char_boxes=boxes.reshape(-1, 8) if boxes.size else None,
    )


def parse(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
    """Parses one serialized example in the graph; char_boxes comes back as [n, 8]."""
    parsed = tf.io.parse_single_example(serialized, FEATURES)
    boxes = tf.sparse.to_dense(parsed[CHAR_BOXES])
    parsed[CHAR_BOXES] = tf.reshape(boxes, [-1, 8])
    return parsed


def parse_batch(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
    """Parses [K] serialized examples at once; char_boxes comes back as a [K, (n), 8]
    RaggedTensor."""
    parsed = tf.io.parse_example(serialized, FEATURES)
    flat = tf.RaggedTensor.from_sparse(parsed[CHAR_BOXES])  # [K, (8 n)]
    parsed[CHAR_BOXES] = tf.RaggedTensor.from_row_lengths(
        tf.reshape(flat.flat_values, [-1, 8]), flat.row_lengths() // 8)
    return parsed


def record_dataset(files: list[str], repeat: bool = False) -> tf.data.Dataset:
    """The serialized records of TFRecord `files` in order (again and again with `repeat`),
    for reading from Python."""
    dataset = tf.data.TFRecordDataset(files)
    return without_autotuning(dataset.repeat() if repeat else dataset)


def read_records(files: list[str], repeat: bool = False) -> Iterator[WordRecord]:
    """The WordRecords of `files`, as `record_dataset` reads them."""
    for raw in record_dataset(files, repeat):
        yield deserialize(raw.numpy())

"""`predict`: image files -> `path<TAB>text<TAB>confidence`, from a checkpoint or a SavedModel
(both read through the same serving function)."""

from __future__ import annotations

from typing import Iterator, Protocol

import tensorflow as tf

from pipelines.validation import RecordError, validate_image
from textscanner import storage


class EncodedReader(Protocol):
    def read_encoded(self, encoded: tf.Tensor) -> dict[str, tf.Tensor]: ...


def expand_paths(patterns: list[str]) -> list[str]:
    """Files and globs -> existing paths, in the order given; a pattern matching nothing is
    kept so that it is reported."""
    paths: list[str] = []
    for pattern in patterns:
        matches = storage.glob(pattern) if storage.has_magic(pattern) else [pattern]
        paths.extend(matches or [pattern])
    return paths


def _decodable(data: bytes) -> str | None:
    """None if TensorFlow decodes the bytes, else the reason."""
    try:
        tf.io.decode_image(data, channels=3, expand_animations=False)
        return None
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as e:
        reason = e.message.splitlines()[0].split("}} ")[-1].split(" [Op:")[0]
        return f"cannot decode image: {reason[:200]}"


def predict_files(reader: EncodedReader, paths: list[str], batch_size: int = 32
                  ) -> Iterator[tuple[str, str, float | None]]:
    """Yields (path, text, confidence) or (path, error message, None) per file, in order."""
    pending: list[tuple[str, bytes]] = []

    def flush():
        out = reader.read_encoded(tf.constant([data for _, data in pending]))
        texts = [t.decode("utf-8") for t in out["text"].numpy()]
        for (path, _), text, conf in zip(pending, texts, out["confidence"].numpy()):
            yield path, text, float(conf)
        pending.clear()

    for path in paths:
        if not storage.isfile(path):
            yield path, "no such file", None
            continue
        try:  # the image as convert stores it: upright, transparency over white
            data = validate_image(storage.read_bytes(path))[0]
        except RecordError as e:
            yield path, f"cannot decode image: {e.message}", None
            continue
        problem = _decodable(data)
        if problem:
            yield path, problem, None
            continue
        pending.append((path, data))
        if len(pending) == batch_size:
            yield from flush()
    if pending:
        yield from flush()

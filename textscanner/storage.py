"""Files at local paths or on any TensorFlow filesystem (`gs://`, `s3://`, `ram://`, ...).

Local paths go through `os` and the standard library, so that flag checks and conversion
start without loading TensorFlow; a path with a scheme goes through `tf.io.gfile`. Every file
the project reads or writes by name goes through here (TFRecords, checkpoints, summaries and
SavedModels go through TensorFlow, which handles both)."""

from __future__ import annotations

import glob as _glob
import os
import shutil
from typing import IO


def is_url(path: str) -> bool:
    """True for `scheme://...` paths, which only TensorFlow's filesystems can open."""
    return "://" in str(path)


def _gfile():
    import tensorflow as tf
    return tf.io.gfile


def open_file(path: str, mode: str = "r", encoding: str | None = None) -> IO:
    """`open` for local paths; `tf.io.gfile.GFile` (which always returns str in text mode,
    UTF-8) otherwise."""
    if is_url(path):
        return _gfile().GFile(path, mode)
    return open(path, mode, encoding=encoding if "b" not in mode else None)


def read_bytes(path: str) -> bytes:
    """The file's content; FileNotFoundError if there is none, on every filesystem."""
    if is_url(path):
        if not _gfile().exists(path):
            raise FileNotFoundError(f"no such file {path}")
        with _gfile().GFile(path, "rb") as f:
            return f.read()
    with open(path, "rb") as f:
        return f.read()


def exists(path: str) -> bool:
    return _gfile().exists(path) if is_url(path) else os.path.exists(path)


def isdir(path: str) -> bool:
    return _gfile().isdir(path) if is_url(path) else os.path.isdir(path)


def isfile(path: str) -> bool:
    if is_url(path):
        return _gfile().exists(path) and not _gfile().isdir(path)
    return os.path.isfile(path)


def makedirs(path: str) -> None:
    """Creates `path` and its parents if missing."""
    if is_url(path):
        _gfile().makedirs(path)
    elif path:
        os.makedirs(path, exist_ok=True)


def glob(pattern: str) -> list[str]:
    """The sorted paths that match `pattern`."""
    return sorted(_gfile().glob(pattern) if is_url(pattern) else _glob.glob(pattern))


def has_magic(pattern: str) -> bool:
    return _glob.has_magic(pattern)


def rename(source: str, target: str) -> None:
    """Moves `source` to `target`, replacing it (atomic on local filesystems)."""
    if is_url(source):
        _gfile().rename(source, target, overwrite=True)
    else:
        os.replace(source, target)


def remove(path: str) -> None:
    """Removes the file if it exists."""
    if exists(path):
        _gfile().remove(path) if is_url(path) else os.remove(path)


def rmtree(path: str) -> None:
    """Removes a folder and everything in it, if it exists."""
    if is_url(path):
        if _gfile().exists(path):
            _gfile().rmtree(path)
    else:
        shutil.rmtree(path, ignore_errors=True)


def dirname(path: str) -> str:
    """The folder of `path`: absolute for local paths, as given for URLs."""
    return os.path.dirname(path) if is_url(path) else os.path.dirname(os.path.abspath(path))

"""Sharded TFRecord output, written atomically: a shard appears only once it is complete."""

from __future__ import annotations

import os

import tensorflow as tf

from pipelines.tfrecord_files import SHARD_PATTERN
from textscanner import storage


def shard_paths(prefix: str, num_shards: int) -> list[str]:
    return [SHARD_PATTERN.format(prefix=prefix, index=i, count=num_shards)
            for i in range(num_shards)]


def count_records(files: list[str]) -> int:
    """The number of records in TFRecord files (read once, nothing parsed)."""
    return int(tf.data.TFRecordDataset(files).reduce(tf.constant(0, tf.int64),
                                                      lambda count, _: count + 1))


class ShardedWriter:
    """Round-robin writer over `num_shards` files `PREFIX-0000i-of-0000n.tfrecord`.

    Each shard is written to a temporary name and renamed on `close()`, so an interrupted
    run never leaves a truncated file with a valid-looking name.
    """

    def __init__(self, prefix: str, num_shards: int):
        if num_shards < 1:
            raise ValueError(f"num_shards must be >= 1, got {num_shards}")
        storage.makedirs(storage.dirname(prefix))
        self.paths = shard_paths(prefix, num_shards)
        self._tmp = [f"{p}.tmp-{os.getpid()}" for p in self.paths]
        self._writers = [tf.io.TFRecordWriter(t) for t in self._tmp]
        self.count = 0

    def write(self, serialized: bytes) -> None:
        self._writers[self.count % len(self._writers)].write(serialized)
        self.count += 1

    def close(self) -> list[str]:
        for w in self._writers:
            w.close()
        for tmp, final in zip(self._tmp, self.paths):
            storage.rename(tmp, final)
        return self.paths

    def abort(self) -> None:
        for w in self._writers:
            w.close()
        for tmp in self._tmp:
            storage.remove(tmp)

    def __enter__(self) -> "ShardedWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

"""Which files a glob names, and whether each is a TFRecord file (TensorFlow-free, so that
flags are checked before TensorFlow starts)."""

from __future__ import annotations

import struct

from textscanner import storage

# What `convert` and `synth` write for PREFIX; a glob that also matches the report (e.g.
# `data/*`) is caught by the header check below.
SHARD_PATTERN = "{prefix}-{index:05d}-of-{count:05d}.tfrecord"
REPORT_SUFFIX = ".report.json"
GLOB_HINT = ("convert and synth write PREFIX-00000-of-0000N.tfrecord shards beside "
             "PREFIX.report.json and flags.txt: match the shards only, e.g. "
             "'data/train-*.tfrecord'")


class NotATFRecordFile(ValueError):
    """A file named as TFRecord data that is not one."""


def expand_patterns(patterns: str | list[str], check: bool = True) -> list[str]:
    """Comma-separated globs (or a list of them) to a sorted list of existing files; with
    `check`, each file's first record header is verified (see check_tfrecord_file)."""
    if isinstance(patterns, str):
        patterns = [p for p in patterns.split(",") if p]
    found = sorted({f for p in patterns for f in storage.glob(p)})
    if not found:
        raise FileNotFoundError(f"no files match {','.join(patterns)}")
    if check:
        for path in found:
            check_tfrecord_file(path)
    return found


def check_tfrecord_file(path: str) -> None:
    """Raises NotATFRecordFile unless `path` is empty or starts with a valid record header
    (8-byte length and its masked CRC-32C): the cheapest check that tells a TFRecord file from
    anything else."""
    with storage.open_file(path, "rb") as f:
        header = f.read(12)
    if not header:
        return  # an empty shard holds no records, and is valid
    if len(header) < 12:
        raise NotATFRecordFile(f"{path} is not a TFRecord file ({len(header)} bytes); "
                               f"{GLOB_HINT}")
    length, crc = struct.unpack("<QI", header)
    if masked_crc32c(header[:8]) != crc:
        raise NotATFRecordFile(f"{path} is not a TFRecord file (its first bytes "
                               f"{header[:8]!r} are no record header); {GLOB_HINT}")


def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), as TFRecord files use."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF

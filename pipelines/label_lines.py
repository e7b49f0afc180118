"""Line-based label files: their non-blank lines, each decoded (UTF-8 unless the user names
another encoding: `convert --label_encoding`) or given a reason."""

from __future__ import annotations

import codecs
from typing import Iterator

from pipelines.validation import RecordError
from textscanner import storage


def label_lines(path: str) -> Iterator[tuple[int, bytes]]:
    """(line number from 1, the line's bytes without its end) for every non-blank line."""
    with storage.open_file(path, "rb") as f:
        for line_no, raw in enumerate(f, 1):
            raw = raw.rstrip(b"\r\n")
            if raw.strip():
                yield line_no, raw


DEFAULT_ENCODING = "utf-8"


def decode_line(raw: bytes, encoding: str = DEFAULT_ENCODING) -> tuple[str, RecordError | None]:
    """The line as text, or "" and the reason it is not in `encoding`."""
    is_utf8 = codecs.lookup(encoding).name == "utf-8"
    try:  # utf-8-sig: a byte-order mark that Windows editors write first is not the path's
        return raw.decode("utf-8-sig" if is_utf8 else encoding), None
    except UnicodeDecodeError as e:
        if is_utf8:
            return "", RecordError("bad_utf8", f"line is not UTF-8 ({e.reason} at byte "
                                               f"{e.start}; another encoding: --label_encoding)")
        return "", RecordError("bad_encoding", f"line is not {encoding} ({e.reason} at byte "
                                               f"{e.start})")

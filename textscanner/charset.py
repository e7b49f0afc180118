"""Character sets: text <-> class ids. Class 0 is the background."""

from __future__ import annotations

import dataclasses
import os
import string
import unicodedata
from typing import Sequence

from textscanner import storage

BACKGROUND_ID = 0

_NAMED: dict[str, tuple[str, bool]] = {
    # name: (characters, case-fold upper to lower before lookup)
    "alnum36": (string.digits + string.ascii_lowercase, True),
    "alnum62": (string.digits + string.ascii_lowercase + string.ascii_uppercase, False),
    "printable94": (string.digits + string.ascii_letters + string.punctuation, False),
}
NAMED_CHARSETS = tuple(_NAMED)


def normalize_text(text: str) -> str:
    """Unicode NFC, the form stored in TFRecords."""
    return unicodedata.normalize("NFC", text)


def fold_ascii_case(text: str) -> str:
    """Lower-cases A-Z only, so that the length (and the boxes) never change."""
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


@dataclasses.dataclass(frozen=True)
class EncodedText:
    ids: list[int]
    unknown: list[str]  # characters not in the charset, in order of appearance

    @property
    def ok(self) -> bool:
        return not self.unknown


@dataclasses.dataclass(frozen=True)
class Charset:
    """An ordered set of characters; character i has class id i + 1."""

    chars: tuple[str, ...]
    case_fold: bool = False
    name: str = "custom"

    def __post_init__(self):
        if len(set(self.chars)) != len(self.chars):
            dup = sorted({c for c in self.chars if self.chars.count(c) > 1})
            raise ValueError(f"charset {self.name!r} repeats characters: {dup[:10]}")
        for c in self.chars:
            if len(c) != 1:
                raise ValueError(f"charset {self.name!r}: entry {c!r} is not one character")

    def reads_like(self, other: "Charset") -> bool:
        """Whether `other` maps text to the same class ids (whatever its name)."""
        return self.chars == other.chars and self.case_fold == other.case_fold

    @property
    def num_classes(self) -> int:
        """Number of output classes including the background."""
        return len(self.chars) + 1

    @property
    def _index(self) -> dict[str, int]:
        index = self.__dict__.get("_index_cache")
        if index is None:
            index = {c: i + 1 for i, c in enumerate(self.chars)}
            object.__setattr__(self, "_index_cache", index)
        return index

    def prepare(self, text: str) -> str:
        """NFC and, for case-folded sets, A-Z -> a-z."""
        text = normalize_text(text)
        return fold_ascii_case(text) if self.case_fold else text

    def encode(self, text: str) -> EncodedText:
        """Class ids of `text`; unknown characters are reported, never mapped to background."""
        index = self._index
        ids, unknown = [], []
        for c in self.prepare(text):
            i = index.get(c)
            if i is None:
                unknown.append(c)
            else:
                ids.append(i)
        return EncodedText(ids, unknown)

    def unknown_chars(self, text: str) -> list[str]:
        return self.encode(text).unknown

    def decode(self, ids: Sequence[int]) -> str:
        """Ids to text; decoding stops at nothing, background ids are skipped."""
        return "".join(self.chars[i - 1] for i in ids if 0 < i <= len(self.chars))

    def codepoints(self) -> list[int]:
        return [ord(c) for c in self.chars]


def load_charset(spec: str) -> Charset:
    """A named set (alnum36, alnum62, printable94) or a UTF-8 file, one character per line."""
    if spec in _NAMED:
        chars, fold = _NAMED[spec]
        return Charset(tuple(chars), case_fold=fold, name=spec)
    if not storage.isfile(spec):
        raise ValueError(
            f"charset {spec!r} is neither a named set {list(_NAMED)} nor an existing file")
    chars: list[str] = []
    with storage.open_file(spec, "rb") as f:
        for line_no, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise ValueError(f"{spec}:{line_no}: not UTF-8 ({e})") from None
            line = normalize_text(line.rstrip("\r\n"))
            if line == "":
                continue
            if len(line) != 1:
                raise ValueError(f"{spec}:{line_no}: expected one character per line, got {line!r}")
            chars.append(line)
    if not chars:
        raise ValueError(f"charset file {spec} holds no characters")
    seen: set[str] = set()
    unique = [c for c in chars if not (c in seen or seen.add(c))]
    return Charset(tuple(unique), case_fold=False, name=os.path.basename(spec))

"""Which faces can draw a word's characters.

A face without a glyph for a character draws its `.notdef` glyph (an empty box, or nothing)
in its place, and `synth` would store that under a label that names the character: a
training sample that teaches the wrong thing. So every face `synth` is given is checked for
the characters it may draw, and a face that lacks any is left out; so is a face that draws
many characters a charset tells apart with one shape (an all-capitals face under a
case-sensitive charset, a last-resort face's one box per block). TensorFlow-free.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterable, Sequence

from pipelines.fonts import load_font

# Drawn by no face: a noncharacter, so the shape FreeType gives it is the face's `.notdef`.
_NO_GLYPH = "\uffff"
_CHECK_SIZE = 24  # pixels; large enough that every real glyph leaves ink
# Faces often draw a few characters alike (l and I, O and 0); more than this many of a
# charset's classes sharing a shape with another class is a face that does not tell them apart.
_MAX_CONFUSED = 4
_MAX_CONFUSED_SHARE = 0.1


Shape = tuple[tuple[int, int], bytes]  # a glyph's bitmap: its size and its pixels


def _shape(font, char: str) -> Shape:
    mask = font.getmask(char)
    return tuple(mask.size), bytes(mask)


def glyph_shapes(path: str, chars: Iterable[str]) -> dict[str, Shape | None]:
    """Each character of `chars` (whitespace aside) -> the face's bitmap of it, or None where
    the face draws its `.notdef` glyph or nothing. Raises OSError when the file is not a face."""
    font = load_font(path, _CHECK_SIZE)
    notdef = _shape(font, _NO_GLYPH)
    shapes: dict[str, Shape | None] = {}
    for char in sorted(set(chars)):
        if not char.isspace():
            shape = _shape(font, char)
            shapes[char] = None if shape == notdef or not any(shape[1]) else shape
    return shapes


def confused_classes(shapes: dict[str, Shape | None], read_as: Callable[[str], str | None]
                     ) -> list[str]:
    """The classes (`read_as` of a character; None: not read) one of whose characters the
    face draws exactly as a character of another class, sorted."""
    classes_by_shape: dict[Shape, set[str]] = {}
    for char, shape in shapes.items():
        label = read_as(char)
        if shape is not None and label is not None:
            classes_by_shape.setdefault(shape, set()).add(label)
    return sorted({label for labels in classes_by_shape.values() if len(labels) > 1
                   for label in labels})


@dataclasses.dataclass
class FontSelection:
    kept: list[str]  # faces that draw every character, in the order given
    left_out: dict[str, str]  # face -> why (the characters it lacks, or the open error)

    def describe_left_out(self, limit: int = 5) -> str:
        """The first `limit` faces left out and why, for a log line or an error."""
        items = [f"{path} ({why})" for path, why in list(self.left_out.items())[:limit]]
        more = len(self.left_out) - limit
        return "; ".join(items) + (f"; and {more} more" if more > 0 else "")


def select_fonts(paths: Sequence[str], chars: Iterable[str],
                 read_as: Callable[[str], str | None]) -> FontSelection:
    """Splits `paths` into the faces that draw every character of `chars`, telling apart
    the classes `read_as` gives them (all but a few), and the others."""
    chars = sorted(set(chars))
    classes = {read_as(char) for char in chars} - {None}
    max_confused = max(_MAX_CONFUSED, _MAX_CONFUSED_SHARE * len(classes))
    kept, left_out = [], {}
    for path in paths:
        try:
            shapes = glyph_shapes(path, chars)
        except OSError as error:
            left_out[path] = f"cannot be opened: {error}"
            continue
        missing = [char for char, shape in shapes.items() if shape is None]
        confused = confused_classes(shapes, read_as)
        if missing:
            left_out[path] = f"no glyph for {len(missing)} character(s): {_show(missing)}"
        elif len(confused) > max_confused:
            left_out[path] = (f"draws {len(confused)} of {len(classes)} classes like another: "
                              f"{_show(confused)}")
        else:
            kept.append(path)
    return FontSelection(kept, left_out)


def _show(chars: list[str], limit: int = 10) -> str:
    return repr("".join(chars[:limit]) + ("..." if len(chars) > limit else ""))

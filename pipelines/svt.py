"""The Street View Text dataset (Wang et al., ICCV 2011) in the layout it is distributed in:
`train.xml` and `test.xml` beside an `img/` folder of street photographs. Each `<image>`
names its photograph (`imageName`) and holds one `<taggedRectangle x= y= width= height=>`
per word, with the word in its `<tag>`. One RawItem per word: the photograph and the word's
rectangle, cut out during validation, as SynthText's words are. No character boxes: such
records train through mutual supervision, and a benchmark needs none."""

from __future__ import annotations

import math
import os
import xml.etree.ElementTree as ElementTree
from typing import Iterator

import numpy as np

from pipelines.validation import RawItem, RecordError
from pipelines.xml_files import load_root
from textscanner import storage

RECTANGLE_FIELDS = ("x", "y", "width", "height")


def load_images(path: str) -> list[ElementTree.Element]:
    """The file's `<image>` elements; LabelFileError naming the file when it is not SVT's
    XML."""
    return load_root(path, "tagset", "Street View Text's XML").findall("image")


def _number(rectangle: ElementTree.Element, name: str) -> float:
    raw = rectangle.get(name)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise RecordError("bad_boxes", f"rectangle {name}={raw!r} is not a number") from None
    if not math.isfinite(value):
        raise RecordError("bad_boxes", f"rectangle {name}={raw!r} is not finite")
    return value


def rectangle_quad(rectangle: ElementTree.Element) -> np.ndarray:
    """A `<taggedRectangle>`'s box as a quadrilateral [8], clockwise from the top-left."""
    x, y, width, height = (_number(rectangle, name) for name in RECTANGLE_FIELDS)
    # ICDAR 2003's files of this layout give a few boxes a `rotation` and an `offset`. The
    # common tools that cut its words out ignore both and cut x, y, width, height upright;
    # so does this, so that a score here compares with theirs.
    return np.array([x, y, x + width, y, x + width, y + height, x, y + height], np.float64)


def _text(element: ElementTree.Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def read_svt(path: str, image_root: str | None = None) -> Iterator[RawItem]:
    """One RawItem per tagged rectangle of an SVT XML file; photographs relative to
    `image_root` (default: the file's folder)."""
    root = image_root or storage.dirname(path)
    for image_index, image in enumerate(load_images(path), 1):
        name = _text(image.find("imageName"))
        rectangles = image.findall("taggedRectangles/taggedRectangle")
        for index, rectangle in enumerate(rectangles, 1):
            source = f"{path}#{image_index}:{name}#{index}"
            try:
                if not name:
                    raise RecordError("malformed_entry", "the image has no imageName")
                quad = rectangle_quad(rectangle)
            except RecordError as error:
                yield RawItem(source=source, error=error)
                continue
            yield RawItem(source=source, text=_text(rectangle.find("tag")),
                          image_path=os.path.join(root, name), word_quad=quad)

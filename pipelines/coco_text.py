"""COCO-Text v2 (Veit et al. 2016) and TextOCR (Singh et al., CVPR 2021) as distributed: one
JSON file of `imgs`, `anns` and `imgToAnns` over a folder of photographs (COCO's train2014
images; OpenImages' for TextOCR). A TextOCR word is cut out along its polygon (`points`),
which its authors draw clockwise from the text's own top-left corner: a rotated or upside-down
word comes out upright and reading left to right. A COCO-Text word, whose `mask` has no
documented corner order, is cut out by its `bbox`, `[x, y, width, height]` in image pixels,
as the tools that prepare these sets for recognizers cut it. COCO-Text's one file holds its
`train` and `val` images; each image says which (`set`), and `convert --subset` keeps one of
them."""

from __future__ import annotations

import json
import math
import os
from typing import Any, Iterator

import numpy as np

from pipelines.rectify import is_convex_clockwise
from pipelines.validation import LabelFileError, RawItem, RecordError
from textscanner import storage

TEXTOCR_ILLEGIBLE = "."  # TextOCR's label for a word nobody could read
ANNOTATION_KEYS = ("imgs", "anns", "imgToAnns")


def load_annotations(path: str) -> dict[str, Any]:
    """The file's JSON; LabelFileError naming the file when it is not JSON of this layout."""
    with storage.open_file(path, "rb") as f:
        data = f.read()
    try:
        annotations = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise LabelFileError(f"{path}: not JSON ({e})") from None
    if not isinstance(annotations, dict) or not all(
            isinstance(annotations.get(key), dict) for key in ANNOTATION_KEYS):
        raise LabelFileError(f"{path}: not COCO-Text's or TextOCR's layout, whose JSON object "
                             f"holds {', '.join(ANNOTATION_KEYS)}")
    return annotations


def box_quad(annotation: dict[str, Any]) -> np.ndarray:
    """The annotation's `bbox` [x, y, width, height] as a quadrilateral [8], clockwise from
    the top-left."""
    box = annotation.get("bbox")
    try:
        x, y, width, height = (float(v) for v in box)
    except (TypeError, ValueError):
        raise RecordError("bad_boxes", f"bbox {box!r} is not four numbers") from None
    if not all(math.isfinite(v) for v in (x, y, width, height)):
        raise RecordError("bad_boxes", f"bbox {box!r} is not finite")
    return np.array([x, y, x + width, y, x + width, y + height, x, y + height], np.float64)


def polygon_points(annotation: dict[str, Any]) -> np.ndarray | None:
    """TextOCR's `points`, `[x1, y1, x2, y2, ...]`, as [k, 2]; None for an annotation without
    them (COCO-Text's)."""
    points = annotation.get("points")
    if points is None:
        return None
    try:
        values = np.asarray(points, np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise RecordError("bad_boxes", f"points {points!r} are not numbers") from None
    if values.size < 8 or values.size % 2 or not np.all(np.isfinite(values)):
        raise RecordError("bad_boxes", f"points {points!r} are not four or more finite "
                                       "x, y pairs")
    return values.reshape(-1, 2)


def _unit(vector: np.ndarray) -> np.ndarray:
    length = float(np.hypot(*vector))
    return vector / length if length > 0 else np.zeros(2)


def text_quad(points: np.ndarray) -> np.ndarray:
    """The quadrilateral [8] to cut a word out along, clockwise from its own top-left, from a
    polygon [k, 2] drawn clockwise from that corner (TextOCR's). Four points that make a
    convex quadrilateral are it. Otherwise (a curved word's many points, or four that cross)
    it is the rectangle around every point whose sides run along and across the text: along
    the polygon's long axis when that is within 45 degrees of the direction that its first
    side (along the text's top) and its last (up its left end) give, else along that
    direction."""
    if len(points) == 4 and is_convex_clockwise(points):
        return points.reshape(-1)
    up = points[0] - points[-1]
    along = _unit(_unit(points[1] - points[0]) + _unit(np.array([-up[1], up[0]])))
    if not along.any():
        along = np.array([1.0, 0.0])
    centred = points - points.mean(axis=0)
    axis = np.linalg.eigh(centred.T @ centred)[1][:, -1]  # the largest eigenvalue's
    axis = axis if axis @ along >= 0 else -axis
    if axis @ along >= math.cos(math.pi / 4):
        along = axis
    across = np.array([-along[1], along[0]])  # down the text, as image y runs down
    u, v = points @ along, points @ across
    corners = [(u.min(), v.min()), (u.max(), v.min()), (u.max(), v.max()), (u.min(), v.max())]
    return np.array([a * along + b * across for a, b in corners]).reshape(-1)


def word_quad(annotation: dict[str, Any]) -> np.ndarray:
    """Where the word is cut out: along TextOCR's polygon when the annotation has one, by its
    `bbox` otherwise."""
    points = polygon_points(annotation)
    return box_quad(annotation) if points is None else text_quad(points)


def word_text(annotation: dict[str, Any]) -> str:
    """The word; RecordError("unreadable") for a word marked illegible."""
    text = annotation.get("utf8_string")
    if annotation.get("legibility") == "illegible" or text == TEXTOCR_ILLEGIBLE:
        raise RecordError("unreadable", "the word is marked illegible, not transcribed")
    if not isinstance(text, str):
        raise RecordError("malformed_entry", "the annotation has no utf8_string")
    return text


def read_coco_text(path: str, image_root: str | None = None,
                   subset: str | None = None) -> Iterator[RawItem]:
    """One RawItem per annotation, image by image in the file's order; photographs relative
    to `image_root` (default: the file's folder); only the images of `set` == `subset` when
    given. Records are named `<file>#<annotation id>:<image file>`."""
    root = image_root or storage.dirname(path)
    annotations = load_annotations(path)
    anns, by_image = annotations["anns"], annotations["imgToAnns"]
    for image_id, image in annotations["imgs"].items():
        image = image if isinstance(image, dict) else {}  # its words: malformed_entry
        if subset and image.get("set") != subset:
            continue
        name = image.get("file_name") or image.get("filename") or ""
        ann_ids = by_image.get(str(image_id), [])
        for ann_id in ann_ids if isinstance(ann_ids, list) else [ann_ids]:
            source = f"{path}#{ann_id}:{name}"
            annotation = anns.get(str(ann_id))
            try:
                if not name:
                    raise RecordError("malformed_entry", "the image has no file_name")
                if not isinstance(annotation, dict):
                    raise RecordError("malformed_entry", f"no annotation {ann_id!r} in anns")
                text, quad = word_text(annotation), word_quad(annotation)
            except RecordError as error:
                yield RawItem(source=source, error=error)
                continue
            yield RawItem(source=source, text=text, image_path=os.path.join(root, name),
                          word_quad=quad)

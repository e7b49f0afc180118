"""COCO-Text v2 (Veit et al. 2016) and TextOCR (Singh et al., CVPR 2021) as distributed: one
JSON file of `imgs`, `anns` and `imgToAnns` over a folder of photographs (COCO's train2014
images; OpenImages' for TextOCR). Each word is cut out of its photograph by its `bbox`,
`[x, y, width, height]` in image pixels, upright, as the tools that prepare these sets for
recognizers cut it. COCO-Text's one file holds its `train` and `val` images; each image says
which (`set`), and `convert --subset` keeps one of them."""

from __future__ import annotations

import json
import math
import os
from typing import Any, Iterator

import numpy as np

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
                text, quad = word_text(annotation), box_quad(annotation)
            except RecordError as error:
                yield RawItem(source=source, error=error)
                continue
            yield RawItem(source=source, text=text, image_path=os.path.join(root, name),
                          word_quad=quad)

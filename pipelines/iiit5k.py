"""IIIT5K-Words (Mishra et al., BMVC 2012) in the layout it is distributed in: MATLAB files
beside the `train/` and `test/` image folders. `traindata.mat` and `testdata.mat` hold one
struct per crop (`ImgName`, `GroundTruth`, and lexicons that recognition without a lexicon
does not use); `trainCharBound.mat` and `testCharBound.mat` hold `ImgName`, the word as
`chars` (case kept) and `charBB`, one `[x, y, width, height]` row per character, in image
pixels. One RawItem per struct, with its characters' boxes when the file has them."""

from __future__ import annotations

import os
from typing import Iterator

import numpy as np

from pipelines.matlab import load_mat
from pipelines.validation import LabelFileError, RawItem, RecordError
from textscanner import storage

# The variable each file holds, and the field with its word.
WORD_FIELDS = {"traindata": "GroundTruth", "testdata": "GroundTruth",
               "trainCharBound": "chars", "testCharBound": "chars"}


def load_structs(path: str) -> tuple[np.ndarray, str]:
    """The file's struct array (one entry per crop) and the name of its word field."""
    mat = load_mat(path, WORD_FIELDS, extra="iiit5k")
    found = [name for name in WORD_FIELDS if name in mat]
    if len(found) != 1:
        raise LabelFileError(f"{path}: not one of IIIT5K's files, which hold one variable of "
                             f"{sorted(WORD_FIELDS)}")
    structs, word_field = mat[found[0]].reshape(-1), WORD_FIELDS[found[0]]
    fields = structs.dtype.names or ()
    missing = [f for f in ("ImgName", word_field) if f not in fields]
    if missing:
        raise LabelFileError(f"{path}: {found[0]} has no field(s) {missing} (fields: {fields})")
    return structs, word_field


def _string(value: np.ndarray) -> str:
    value = np.asarray(value).reshape(-1)
    return str(value[0]) if value.size else ""


def _boxes(value: np.ndarray) -> list[list[float]]:
    """`charBB`'s [x, y, width, height] rows as [x1, y1, x2, y2] boxes."""
    rows = np.asarray(value, np.float64)
    if rows.size % 4:
        raise RecordError("bad_boxes", f"charBB holds {rows.size} numbers, not rows of 4")
    return [[x, y, x + w, y + h] for x, y, w, h in rows.reshape(-1, 4)]


def read_iiit5k(path: str, image_root: str | None = None) -> Iterator[RawItem]:
    """One RawItem per crop of an IIIT5K .mat file; images relative to `image_root`
    (default: the file's folder)."""
    root = image_root or storage.dirname(path)
    structs, word_field = load_structs(path)
    with_boxes = "charBB" in structs.dtype.names
    for index, entry in enumerate(structs, 1):
        name = _string(entry["ImgName"])
        source = f"{path}#{index}:{name}"
        try:
            if not name:
                raise RecordError("malformed_entry", "ImgName is empty")
            boxes = _boxes(entry["charBB"]) if with_boxes else None
        except RecordError as error:
            yield RawItem(source=source, error=error)
            continue
        yield RawItem(source=source, text=_string(entry[word_field]),
                      image_path=os.path.join(root, name), char_boxes=boxes)

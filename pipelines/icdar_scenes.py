"""Whole scenes in the ICDAR Robust Reading localisation layout (2015 incidental text; CVAT's
ICDAR export and other labelling tools write it too): one `gt_img_1.txt` per scene image
`img_1.jpg`, one word per line, `x1,y1,x2,y2,x3,y3,x4,y4,transcription`, the word's
quadrilateral clockwise from its top-left corner in image pixels, then its text (which may
hold commas); `###` marks a word nobody could read. One RawItem per word: the scene and the
quadrilateral, cut out upright during validation as SynthText's words are. The multilingual
sets (MLT 2017, 2019) put the word's script between the corners and the text."""

from __future__ import annotations

import os
from typing import Iterator

import numpy as np

from pipelines.label_lines import DEFAULT_ENCODING, decode_line, label_lines
from pipelines.validation import LabelFileError, RawItem, RecordError
from textscanner import storage

IMAGE_EXTENSIONS = (".jpg", ".png", ".jpeg", ".gif", ".bmp", ".JPG", ".PNG", ".JPEG")
UNREADABLE = "###"
# The script field of MLT's lines, `x1,...,y4,Latin,text`.
MLT_SCRIPTS = frozenset({"Arabic", "Latin", "Chinese", "Japanese", "Korean", "Bangla", "Hindi",
                         "Symbols", "Mixed", "None"})


def ground_truth_files(path: str) -> list[str]:
    """`path` itself, or the `gt_*.txt` files of a folder, sorted by name."""
    if not storage.isdir(path):
        return [path]
    files = sorted(storage.glob(os.path.join(path, "gt_*.txt")))
    if not files:
        raise LabelFileError(f"{path}: a folder without gt_*.txt files")
    return files


def scene_image(ground_truth: str, root: str) -> str:
    """`gt_img_1.txt` -> `<root>/img_1.<ext>`, the first extension with a file (`.jpg` when
    none has, for the error message)."""
    stem = os.path.splitext(os.path.basename(ground_truth))[0]
    name = stem[len("gt_"):] if stem.startswith("gt_") else stem
    candidates = [os.path.join(root, name + extension) for extension in IMAGE_EXTENSIONS]
    return next((c for c in candidates if storage.exists(c)), candidates[0])


def quad_fields(line: str) -> tuple[np.ndarray, str] | None:
    """`x1,y1,...,x4,y4,text` (or MLT's `x1,...,y4,script,text`) -> (the quadrilateral [8],
    clockwise, the text), or None for a line of another form."""
    fields = line.split(",", 8)
    if len(fields) != 9:
        return None
    try:
        quad = np.array([float(value) for value in fields[:8]], np.float64)
    except ValueError:
        return None
    points = quad.reshape(4, 2)
    # Some tools go round the other way; the same corners clockwise, from the same first one.
    # (Shoelace sum: positive for clockwise in image coordinates, whose y points down.)
    turn = np.sum(points[:, 0] * np.roll(points[:, 1], -1) - np.roll(points[:, 0], -1)
                  * points[:, 1])
    if turn < 0:
        quad = points[[0, 3, 2, 1]].reshape(8)
    script, comma, text = fields[8].partition(",")
    return quad, (text if comma and script in MLT_SCRIPTS else fields[8]).strip()


def read_icdar_scenes(path: str, image_root: str | None = None,
                      encoding: str = DEFAULT_ENCODING) -> Iterator[RawItem]:
    """One RawItem per word line of a `gt_*.txt` file, or of every such file in a folder;
    scene images under `image_root` (default: the files' folder)."""
    for ground_truth in ground_truth_files(path):
        image = scene_image(ground_truth, image_root or storage.dirname(ground_truth))
        for line_no, raw in label_lines(ground_truth):
            source = f"{ground_truth}:{line_no}"
            line, error = decode_line(raw, encoding)
            fields = None if error else quad_fields(line)
            if error is None and fields is None:
                error = RecordError("malformed_line", "expected `x1,y1,x2,y2,x3,y3,x4,y4,"
                                                      f"text`, got {line!r}")
            if error is None and fields[1] == UNREADABLE:
                error = RecordError("unreadable", f"the word is marked {UNREADABLE}, not "
                                                  "transcribed")
            if error is not None:
                yield RawItem(source=source, error=error)
                continue
            quad, text = fields
            yield RawItem(source=source, text=text, image_path=image, word_quad=quad)

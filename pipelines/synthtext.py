"""SynthText (Gupta et al., CVPR 2016) as a label source: its `gt.mat` names each scene
image and holds, per scene, the word quadrilaterals (`wordBB`), the character
quadrilaterals (`charBB`) and the text instances (`txt`). One RawItem per word: the scene,
the word's quadrilateral (cut out upright during validation) and its characters' quads."""

from __future__ import annotations

import os
from typing import Iterator

import numpy as np

from pipelines.matlab import load_mat
from pipelines.validation import LabelFileError, RawItem, RecordError
from textscanner import storage

GT_VARIABLES = ("imnames", "wordBB", "charBB", "txt")


def load_ground_truth(path: str) -> dict[str, np.ndarray]:
    """gt.mat's four cell arrays, each flattened to one entry per scene."""
    mat = load_mat(path, GT_VARIABLES, extra="synthtext")
    missing = [name for name in GT_VARIABLES if name not in mat]
    if missing:
        raise LabelFileError(f"{path}: not SynthText's gt.mat, no variable(s) {missing}")
    cells = {name: mat[name].reshape(-1) for name in GT_VARIABLES}
    counts = {name: len(cell) for name, cell in cells.items()}
    if len(set(counts.values())) != 1:
        raise LabelFileError(f"{path}: the variables hold different numbers of scenes: {counts}")
    return cells


def _quads(boxes: np.ndarray) -> np.ndarray:
    """SynthText's [2, 4, n] boxes (x/y, corner, box; [2, 4] when n = 1, as MATLAB drops a
    last axis of 1) -> [n, 8] quadrilaterals, clockwise from the top-left corner."""
    boxes = np.asarray(boxes, np.float64)
    if boxes.size == 0:
        return np.zeros((0, 8))
    return boxes.reshape(2, 4, -1).transpose(2, 1, 0).reshape(-1, 8)


def _text(value: np.ndarray) -> str:
    return str(np.asarray(value).reshape(-1)[0]) if np.asarray(value).size else ""


def scene_words(texts: np.ndarray) -> list[str]:
    """The words of a scene in box order: its text instances split at whitespace."""
    return " ".join(str(t) for t in np.asarray(texts).reshape(-1)).split()


def _count_mismatch(scene: str, words: list[str], word_quads: np.ndarray,
                    char_quads: np.ndarray) -> RecordError | None:
    """Why a scene's words and boxes cannot be paired, or None."""
    if len(words) != len(word_quads):
        return RecordError("box_count", f"scene {scene}: {len(words)} words in txt, "
                                        f"{len(word_quads)} word boxes")
    num_chars = sum(map(len, words))
    if num_chars != len(char_quads):
        return RecordError("box_count", f"scene {scene}: {num_chars} characters in txt, "
                                        f"{len(char_quads)} character boxes")
    return None


def read_synthtext(path: str, image_root: str | None = None) -> Iterator[RawItem]:
    """One RawItem per word of every scene; a scene whose words and boxes disagree in number
    gives one error per word."""
    root = image_root or storage.dirname(path)
    cells = load_ground_truth(path)
    for name, word_boxes, char_boxes, texts in zip(
            cells["imnames"], cells["wordBB"], cells["charBB"], cells["txt"]):
        scene = _text(name)
        words, word_quads, char_quads = scene_words(texts), _quads(word_boxes), \
            _quads(char_boxes)
        error = _count_mismatch(scene, words, word_quads, char_quads)
        if error is not None:
            for index in range(max(len(words), 1)):
                yield RawItem(source=f"{path}#{scene}#{index}", error=error)
            continue
        first = 0
        for index, word in enumerate(words):
            yield RawItem(source=f"{path}#{scene}#{index}", text=word,
                          image_path=os.path.join(root, scene), word_quad=word_quads[index],
                          char_boxes=char_quads[first:first + len(word)])
            first += len(word)

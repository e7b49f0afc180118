"""Pseudo character boxes for word-only records, drawn by a trained model.

Word-only crops train the class map alone (mutual supervision); what a new domain breaks
most is where the characters are. Given a label, a trained model's class map can still say
where each of the label's characters lies: the characters are aligned left to right to the
map's columns (Viterbi over the states gap, c1, gap, c2, ..., cn, gap; a gap may be empty,
a character takes at least one column), and each box spans its character's columns and the
rows where that character is likely, grown about its centre to the size of the boxes the
model was trained on (the class map marks each box shrunk towards its centre). BUILD.md
("Word-only data, mutual supervision and fine-tuning") measures what such boxes buy over
word-only crops.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from textscanner.charset import BACKGROUND_ID

# Probabilities are floored before the logarithm, so that a zero cannot make a path -inf.
_FLOOR = 1e-6
# A box's rows: those where its character's mean probability over the box's columns is at
# least this share of the character's peak row.
ROW_SHARE = 0.3
# The class map is trained on each character's box shrunk to half its size (TargetConfig's
# `shrink`), and the span read from it is a little wider than that (a column is the
# character's while any row favours it): grown by this factor about its centre, the box is
# as large as the true box, in the median, on synthetic crops of every style with true boxes
# (BUILD.md, "Pseudo-boxes of the true size"). Ungrown, boxes are about half the true size,
# so the maps rendered from them would teach smaller characters than the synthetic words do.
GROWTH = 1.75


def align_characters(char_scores: np.ndarray, gap_scores: np.ndarray) -> list[tuple[int, int]]:
    """The best left-to-right split of `w` columns among `n` characters.

    char_scores: [w, n], column t's log-score for character k; gap_scores: [w], column t's
    log-score for no character. Returns n half-open column spans (start, end), in order,
    disjoint, each at least one column, maximising the sum of the columns' scores (a column
    outside every span scores as a gap). Needs 1 <= n <= w."""
    w, n = char_scores.shape
    if not 1 <= n <= w:
        raise ValueError(f"cannot align {n} characters to {w} columns")
    states = 2 * n + 1  # even: a gap (before, between, after the characters); odd: a character
    emit = np.empty((w, states))
    emit[:, 0::2] = gap_scores[:, None]
    emit[:, 1::2] = char_scores
    best = np.full((w, states), -np.inf)
    came_from = np.zeros((w, states), dtype=np.int64)
    best[0, :2] = emit[0, :2]  # start in the first gap or the first character
    state = np.arange(states)
    for t in range(1, w):
        stay = best[t - 1]
        step = np.concatenate([[-np.inf], best[t - 1, :-1]])  # from the previous state
        # A character may follow the previous character directly, skipping an empty gap.
        skip = np.where(state % 2 == 1,
                        np.concatenate([[-np.inf, -np.inf], best[t - 1, :-2]]), -np.inf)
        options = np.stack([stay, step, skip])  # [3, states]
        choice = np.argmax(options, axis=0)
        best[t] = options[choice, state] + emit[t]
        came_from[t] = state - choice
    last = states - 1 if best[-1, -1] >= best[-1, -2] else states - 2  # end in a gap or not
    path = [last]
    for t in range(w - 1, 0, -1):
        path.append(came_from[t, path[-1]])
    path = np.asarray(path[::-1])
    spans = []
    for k in range(n):
        columns = np.flatnonzero(path == 2 * k + 1)
        spans.append((int(columns[0]), int(columns[-1]) + 1))
    return spans


def boxes_from_class_map(class_probs: np.ndarray, ids: Sequence[int],
                         image_height: int, image_width: int,
                         growth: float = GROWTH) -> np.ndarray:
    """Quadrilaterals [n, 4, 2] (x, y; clockwise from the top left) in the pixels of an
    `image_height` x `image_width` image, one per class id of `ids`, from a model's class
    probabilities [h, w, C] for that image (resized as for reading). Each box is the span
    read from the map grown `growth` times about its centre, clipped to the image."""
    h, w, _ = class_probs.shape
    probs = np.maximum(class_probs, _FLOOR)
    char_scores = np.log(probs[:, :, list(ids)].max(axis=0))  # [w, n]: the likeliest row
    gap_scores = np.log(probs[:, :, BACKGROUND_ID].min(axis=0))  # [w]: every row empty
    sx, sy = image_width / w, image_height / h
    quads = []
    for (start, end), class_id in zip(align_characters(char_scores, gap_scores), ids):
        profile = class_probs[:, start:end, class_id].mean(axis=1)  # [h]
        rows = np.flatnonzero(profile >= ROW_SHARE * profile.max())
        left, right = _grown(start, end, growth, w)
        top, bottom = _grown(rows[0], rows[-1] + 1, growth, h)
        quads.append([[left * sx, top * sy], [right * sx, top * sy],
                      [right * sx, bottom * sy], [left * sx, bottom * sy]])
    return np.asarray(quads, dtype=np.float32).reshape(len(ids), 4, 2)


def _grown(low: float, high: float, growth: float, limit: int) -> tuple[float, float]:
    """The interval [low, high) grown `growth` times about its centre, clipped to [0, limit]."""
    centre, half = (low + high) / 2, growth * (high - low) / 2
    return max(0.0, centre - half), min(float(limit), centre + half)

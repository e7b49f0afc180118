"""Pseudo character boxes: the alignment against a brute-force enumeration, and boxes from a
hand-made class map, as read and grown to the true boxes' size."""

import numpy as np
import pytest

from pipelines.pseudo_boxes import align_characters, boxes_from_class_map


def _score(spans, char_scores, gap_scores):
    in_span = np.zeros(len(gap_scores), bool)
    total = 0.0
    for k, (start, end) in enumerate(spans):
        total += char_scores[start:end, k].sum()
        in_span[start:end] = True
    return total + gap_scores[~in_span].sum()


def _every_split(w, n, first=0):
    """All n ordered, disjoint spans of at least one column within columns first..w-1."""
    if n == 0:
        yield []
        return
    for start in range(first, w):
        for end in range(start + 1, w + 1):
            for rest in _every_split(w, n - 1, end):
                yield [(start, end)] + rest


@pytest.mark.parametrize("w,n", [(1, 1), (4, 1), (5, 2), (6, 3), (7, 3), (3, 3)])
def test_the_alignment_is_the_best_split(w, n):
    rng = np.random.default_rng(w * 10 + n)
    for _ in range(20):
        char_scores, gap_scores = rng.normal(size=(w, n)), rng.normal(size=w)
        spans = align_characters(char_scores, gap_scores)
        assert len(spans) == n
        assert all(0 <= s < e <= w for s, e in spans)
        assert all(e1 <= s2 for (_, e1), (s2, _) in zip(spans, spans[1:]))
        best = max(_score(split, char_scores, gap_scores) for split in _every_split(w, n))
        assert _score(spans, char_scores, gap_scores) == pytest.approx(best)


def test_more_characters_than_columns_is_an_error():
    with pytest.raises(ValueError, match="cannot align 3 characters to 2 columns"):
        align_characters(np.zeros((2, 3)), np.zeros(2))


def _three_characters() -> np.ndarray:
    """A 4 x 12 class map of 4 classes for a 32 x 96 image (8 pixels a cell): the label's
    characters 2, 2, 3 in rows 1-2 at columns 0-1, 4-6 and 8-11; background elsewhere."""
    probs = np.zeros((4, 12, 4))
    probs[..., 0] = 1.0
    for class_id, (start, end) in zip([2, 2, 3], [(0, 2), (4, 7), (8, 12)]):
        probs[1:3, start:end, 0] = 0.1
        probs[1:3, start:end, class_id] = 0.9
    return probs


def test_boxes_follow_the_class_map():
    boxes = boxes_from_class_map(_three_characters(), [2, 2, 3], image_height=32,
                                 image_width=96, growth=1.0)
    want = [[[0, 8], [16, 8], [16, 24], [0, 24]],
            [[32, 8], [56, 8], [56, 24], [32, 24]],
            [[64, 8], [96, 8], [96, 24], [64, 24]]]
    np.testing.assert_allclose(boxes, want)


def test_boxes_grow_about_their_centres_within_the_image():
    # Spans as above, grown 1.5 times: rows 1-2 (8-24 px) become 4-28 px; the first and
    # last characters touch the image's edges and are clipped there.
    boxes = boxes_from_class_map(_three_characters(), [2, 2, 3], image_height=32,
                                 image_width=96, growth=1.5)
    want = [[[0, 4], [20, 4], [20, 28], [0, 28]],  # columns 0-16 px: centre 8, half 12
            [[26, 4], [62, 4], [62, 28], [26, 28]],  # 32-56 px: centre 44, half 18
            [[56, 4], [96, 4], [96, 28], [56, 28]]]  # 64-96 px: centre 80, half 24
    np.testing.assert_allclose(boxes, want)

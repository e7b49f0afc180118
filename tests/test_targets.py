"""In-graph targets vs the loop-by-loop numpy reference on hand-made boxes."""

import numpy as np
import pytest
import tensorflow as tf

from textscanner.targets import TargetConfig, render_targets
from textscanner.targets_numpy import render_targets_numpy

CFG = TargetConfig()


def _axis(x1, y1, x2, y2):
    return [x1, y1, x2, y1, x2, y2, x1, y2]


def _rotated(cx, cy, w, h, degrees):
    t = np.deg2rad(degrees)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    corners = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    return (corners @ rot.T + [cx, cy]).reshape(-1).tolist()


CASES = {
    "axis_aligned": [_axis(10, 8, 22, 26), _axis(25, 6, 40, 27), _axis(44, 10, 52, 24)],
    "rotated_quads": [_rotated(20, 16, 14, 20, 25), _rotated(45, 15, 12, 18, -30)],
    "overlapping": [_axis(10, 5, 30, 28), _axis(22, 6, 40, 27), _axis(35, 8, 50, 26)],
    "one_pixel_char": [_axis(10, 8, 30, 26), _axis(60.2, 15.1, 60.9, 15.8)],
    "thirty_chars": [_axis(4 * k + 0.5, 6 + (k % 3), 4 * k + 4.2, 26) for k in range(30)],
    "no_boxes": [],
}


def _run_graph(samples):
    n = max([len(s) for s in samples] + [0])
    quads = np.zeros((len(samples), n, 8), np.float32)
    ids = np.zeros((len(samples), n), np.int32)
    valid = np.zeros((len(samples), n), bool)
    for b, s in enumerate(samples):
        quads[b, :len(s)] = np.reshape(s, (-1, 8))
        ids[b, :len(s)] = np.arange(len(s)) % 36 + 1
        valid[b, :len(s)] = True
    out = render_targets(tf.constant(quads), tf.constant(ids), tf.constant(valid), CFG)
    return {k: v.numpy() for k, v in out.items()}


@pytest.mark.parametrize("name", list(CASES))
def test_graph_matches_numpy_reference(name):
    quads = CASES[name]
    # Batch the case with another sample so that padding and batching are exercised too.
    other = CASES["axis_aligned"] if name != "axis_aligned" else CASES["rotated_quads"]
    got = _run_graph([quads, other])
    ref = render_targets_numpy(np.array(quads, np.float32).reshape(-1, 8),
                               np.arange(len(quads)) % 36 + 1, CFG)
    np.testing.assert_array_equal(got["class_map"][0], ref["class_map"])
    np.testing.assert_array_equal(got["order_map"][0], ref["order_map"])
    np.testing.assert_allclose(got["loc_map"][0], ref["loc_map"], atol=1e-5)


def test_properties_on_hand_made_boxes():
    out = _run_graph([CASES["axis_aligned"]])
    cls, order, loc = out["class_map"][0], out["order_map"][0], out["loc_map"][0]
    # shrunk by 0.5: box x 10..22 -> 13..19, y 8..26 -> 12.5..21.5 (borders inclusive)
    assert set(np.unique(cls)) == {0, 1, 2, 3}
    rows, cols = np.nonzero(cls == 1)
    assert (cols.min(), cols.max(), rows.min(), rows.max()) == (13, 18, 12, 21)
    assert loc.max() <= 1.0 and loc.max() > 0.95
    assert set(np.unique(order)) == {0, 1, 2, 3}
    assert order[17, 16] == 1 and order[17, 32] == 2  # reading order = annotation order


def test_order_follows_annotation_not_x():
    right_to_left = [_axis(40, 8, 52, 26), _axis(10, 8, 22, 26)]
    order = _run_graph([right_to_left])["order_map"][0]
    assert order[17, 46] == 1 and order[17, 16] == 2


def test_overlap_later_character_wins_class_map():
    out = _run_graph([CASES["overlapping"]])
    # x = 25 is inside char 1's shrunk box (15..25) and char 2's (26.5..35.5)? only char 1;
    # x = 30 lies in char 2's shrunk box and char 3's region starts at 38.75.
    cls = out["class_map"][0]
    assert cls[16, 20] == 1 and cls[16, 30] == 2 and cls[16, 42] == 3


def test_empty_sample_gives_empty_maps():
    out = _run_graph([[], []])
    assert out["class_map"].shape == (2, 32, 128)
    assert not out["class_map"].any() and not out["order_map"].any()
    assert not out["loc_map"].any()


def test_num_slots_paints_only_the_first_characters_in_one_compiled_program():
    quads = np.zeros((2, 5, 8), np.float32)
    quads[0, :3] = np.reshape(CASES["axis_aligned"], (-1, 8))
    quads[1, :2] = np.reshape(CASES["rotated_quads"], (-1, 8))
    ids = np.tile(np.arange(1, 6, dtype=np.int32), (2, 1))
    valid = np.zeros((2, 5), bool)
    valid[0, :3], valid[1, :2] = True, True
    render = tf.function(lambda q, i, v, n: render_targets(q, i, v, CFG, num_slots=n),
                         jit_compile=True)
    for n in (1, 2, 3):
        got = render(quads, ids, valid, tf.constant(n))
        want = render_targets(quads[:, :n], ids[:, :n], valid[:, :n], CFG)
        np.testing.assert_array_equal(got["class_map"], want["class_map"])
        np.testing.assert_array_equal(got["order_map"], want["order_map"])
        np.testing.assert_allclose(got["loc_map"], want["loc_map"], atol=1e-6)  # XLA's exp
    assert render.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("name", ["axis_aligned", "rotated_quads", "overlapping", "no_boxes"])
def test_the_python_baseline_renders_as_the_reference(name):
    """`benchmark --what=input`'s Python loader (the baseline it measures against) draws the
    same maps, a word-only record's empty ones included."""
    from pipelines.python_loader import render_targets_vectorised_numpy
    quads = np.array(CASES[name], np.float32).reshape(-1, 8)
    ids = np.arange(len(quads)) % 36 + 1
    class_map, order_map, loc_map = render_targets_vectorised_numpy(quads, ids, CFG)
    ref = render_targets_numpy(quads, ids, CFG)
    np.testing.assert_array_equal(class_map, ref["class_map"])
    np.testing.assert_array_equal(order_map, ref["order_map"])
    np.testing.assert_allclose(loc_map, ref["loc_map"], atol=1e-5)

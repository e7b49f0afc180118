"""`convert --input_format=synthtext`: a small gt.mat in SynthText's layout, scenes with
known geometry, every kind of bad word reported, serial and parallel."""

import io
import os

import numpy as np
import pytest
from PIL import Image

from pipelines.rectify import apply_homography, homography
from tests.helpers import save_affine_word_scene
from tests.test_convert import _convert, _read_all

scipy_io = pytest.importorskip("scipy.io")

# The word "Hello" lives in a 100 x 30 crop space, drawn into its scene by an affine map
# written out by hand: scene = OFFSET + LINEAR @ crop.
CROP_W, CROP_H = 100, 30
OFFSET = np.array([50.0, 60.0])
LINEAR = np.array([[1.2, 0.1], [-0.2, 1.3]])
HELLO_CHARS = np.array([[20 * k + 1, 3, 20 * k + 19, 3, 20 * k + 19, 27, 20 * k + 1, 27]
                        for k in range(5)], np.float64)


def _to_scene(points: np.ndarray) -> np.ndarray:
    return points.reshape(-1, 2) @ LINEAR.T + OFFSET


def _scene_with_hello(path):
    save_affine_word_scene(path, OFFSET, LINEAR, (CROP_W, CROP_H), (240, 160))


def _bb(quads):
    """[n, 8] quads -> SynthText's [2, 4, n] (or [2, 4] for one box, as MATLAB saves it)."""
    boxes = np.asarray(quads, np.float64).reshape(-1, 4, 2).transpose(2, 1, 0)
    return boxes[:, :, 0] if boxes.shape[2] == 1 else boxes


def _axis_aligned(x1, y1, x2, y2):
    return [x1, y1, x2, y1, x2, y2, x1, y2]


def _cell(values):
    out = np.empty((1, len(values)), object)
    for i, value in enumerate(values):
        out[0, i] = value
    return out


def _write_gt(tmp_path) -> str:
    os.makedirs(tmp_path / "1")
    os.makedirs(tmp_path / "2")
    _scene_with_hello(tmp_path / "1" / "a.jpg")
    Image.new("RGB", (64, 48), (200, 10, 10)).save(tmp_path / "1" / "b.jpg")
    Image.new("RGB", (120, 80), (10, 200, 10)).save(tmp_path / "2" / "e.jpg")
    (tmp_path / "2" / "cut.jpg").write_bytes((tmp_path / "1" / "b.jpg").read_bytes()[:100])
    hello_quad = _to_scene(np.array([[0, 0], [CROP_W, 0], [CROP_W, CROP_H], [0, CROP_H]]))
    ab = [_axis_aligned(10, 120, 20, 140), _axis_aligned(20, 120, 30, 140)]
    scenes = [  # name, text instances, word quads, char quads
        ("1/a.jpg", ["Hello\nab "], [hello_quad.reshape(8), _axis_aligned(10, 120, 30, 140)],
         [*_to_scene(HELLO_CHARS).reshape(-1, 8), *ab]),
        ("1/b.jpg", ["x"], [_axis_aligned(5, 5, 30, 40)], [_axis_aligned(6, 6, 29, 39)]),
        ("2/c.jpg", ["foo bar"], [_axis_aligned(0, 0, 9, 9)], [_axis_aligned(0, 0, 1, 1)] * 6),
        ("2/missing.jpg", ["gone"], [_axis_aligned(0, 0, 40, 20)],
         [_axis_aligned(10 * k, 0, 10 * k + 9, 20) for k in range(4)]),
        ("2/e.jpg", ["deg out", "ok"],
         [[5] * 8, _axis_aligned(200, 200, 260, 230), _axis_aligned(10, 10, 50, 30)],
         [[5] * 8] * 3 + [_axis_aligned(200 + 20 * k, 200, 220 + 20 * k, 230)
                          for k in range(3)]
         + [_axis_aligned(10, 10, 30, 30), _axis_aligned(30, 10, 50, 30)]),
        ("2/f.jpg", ["abc"], [_axis_aligned(0, 0, 30, 10)], [_axis_aligned(0, 0, 9, 9)] * 2),
        ("2/cut.jpg", ["zz"], [_axis_aligned(0, 0, 30, 10)], [_axis_aligned(0, 0, 9, 9)] * 2),
    ]
    gt = {"imnames": _cell([np.array([name]) for name, *_ in scenes]),
          "txt": _cell([np.array(texts) for _, texts, _, _ in scenes]),
          "wordBB": _cell([_bb(words) for _, _, words, _ in scenes]),
          "charBB": _cell([_bb(chars) for _, _, _, chars in scenes])}
    path = str(tmp_path / "gt.mat")
    scipy_io.savemat(path, gt)
    return path


def test_homography_recovers_a_projective_map():
    truth = np.array([[1.1, 0.2, 5.0], [0.1, 0.9, 3.0], [0.001, 0.002, 1.0]])
    src = np.array([[0, 0], [100, 0], [100, 30], [0, 30]], np.float64)
    dst = np.array([truth @ [x, y, 1] for x, y in src])
    dst = dst[:, :2] / dst[:, 2:]
    np.testing.assert_allclose(homography(src, dst), truth, atol=1e-9)
    np.testing.assert_allclose(apply_homography(truth, np.array([[50.0, 15.0]])),
                               [[(1.1 * 50 + 0.2 * 15 + 5) / (0.05 + 0.03 + 1),
                                 (0.1 * 50 + 0.9 * 15 + 3) / (0.05 + 0.03 + 1)]])


@pytest.mark.parametrize("workers", [1, 2])
def test_synthtext_words_are_cut_out_upright_and_bad_words_reported(tmp_path, workers):
    path = _write_gt(tmp_path)
    report, out = _convert("synthtext", path, tmp_path, num_workers=workers)
    records = {r.text: r for r in _read_all(out)}
    assert sorted(records) == ["Hello", "ab", "ok", "x"]
    reasons = {e["source"].split("#", 1)[1]: e["reason"] for e in report.errors}
    assert reasons == {"2/c.jpg#0": "box_count", "2/c.jpg#1": "box_count",
                       "2/missing.jpg#0": "missing_image", "2/e.jpg#0": "degenerate_box",
                       "2/e.jpg#1": "box_outside", "2/f.jpg#0": "box_count",
                       "2/cut.jpg#0": "corrupt_image"}
    assert all(e["source"].startswith(path + "#") and e["message"] for e in report.errors)
    assert report.written == 4

    # "Hello" comes out upright: the crop's sides are the quadrilateral's, its left half
    # black and its right half white, and each character keeps its place in the word.
    hello = records["Hello"]
    top = np.hypot(*(LINEAR @ [CROP_W, 0]))
    left = np.hypot(*(LINEAR @ [0, CROP_H]))
    assert (hello.width, hello.height) == (round(top), round(left))
    crop = np.asarray(Image.open(io.BytesIO(hello.image)).convert("L"), float)
    assert crop[:, : int(0.4 * hello.width)].mean() < 40
    assert crop[:, int(0.6 * hello.width):].mean() > 215
    scale = np.tile([hello.width / CROP_W, hello.height / CROP_H], 4)
    np.testing.assert_allclose(hello.char_boxes, HELLO_CHARS * scale, atol=0.05)

    # An axis-aligned word keeps its size and its boxes shift by its corner.
    ab = records["ab"]
    assert (ab.width, ab.height) == (20, 20)
    np.testing.assert_allclose(ab.char_boxes, [_axis_aligned(0, 0, 10, 20),
                                               _axis_aligned(10, 0, 20, 20)], atol=1e-6)
    assert records["x"].char_boxes.shape == (1, 8)  # a scene of one word, MATLAB-squeezed


def test_a_file_that_is_not_synthtext_is_refused_by_name(tmp_path):
    path = str(tmp_path / "other.mat")
    scipy_io.savemat(path, {"imnames": _cell([np.array(["a.jpg"])])})
    with pytest.raises(ValueError, match=r"other.mat: not SynthText's gt.mat.*wordBB"):
        _convert("synthtext", path, tmp_path)

"""`convert --input_format=iiit5k`: small .mat files in IIIT5K's layout (structs of ImgName
and the word, with or without charBB), every kind of bad entry reported, serial and parallel."""

import numpy as np
import pytest
from PIL import Image

from tests.test_convert import _convert, _read_all

scipy_io = pytest.importorskip("scipy.io")


def _structs(fields, rows):
    """A 1 x n MATLAB struct array, as scipy.io.savemat writes a structured object array."""
    out = np.zeros((1, len(rows)), dtype=[(name, object) for name in fields])
    for i, row in enumerate(rows):
        for name, value in zip(fields, row):
            out[name][0, i] = value
    return out


def _images(tmp_path):
    (tmp_path / "train").mkdir()
    for name, size in (("1_1.png", (100, 30)), ("2_1.png", (60, 30)), ("3_1.png", (60, 30)),
                       ("4_1.png", (60, 30)), ("5_1.png", (20, 30))):
        Image.new("RGB", size, (200, 180, 20)).save(tmp_path / "train" / name)


CHAR_BOUND = [  # ImgName, chars, charBB (x, y, width, height per character)
    ("train/1_1.png", "Ab", np.array([[10.0, 5.0, 20.0, 20.0], [35.0, 4.0, 18.0, 22.0]])),
    ("train/2_1.png", "xyz", np.array([[1.0, 1, 10, 10], [12, 1, 10, 10]])),  # 2 boxes, 3 chars
    ("train/missing.png", "go", np.array([[1.0, 1, 10, 10], [12, 1, 10, 10]])),
    ("", "q", np.array([[1.0, 1, 10, 10]])),
    ("train/3_1.png", "hi", np.array([[1.0, 2, 3, 4, 5, 6]])),  # not rows of four
    ("train/4_1.png", "ok", np.array([[200.0, 1, 10, 10], [215, 1, 10, 10]])),  # off the image
    ("train/5_1.png", "7", np.array([[2.0, 3.0, 14.0, 24.0]])),  # one character
]


@pytest.mark.parametrize("workers", [1, 2])
def test_char_bound_files_give_boxed_records_and_every_bad_entry_a_reason(tmp_path, workers):
    _images(tmp_path)
    path = str(tmp_path / "trainCharBound.mat")
    scipy_io.savemat(path, {"trainCharBound": _structs(("ImgName", "chars", "charBB"),
                                                       CHAR_BOUND)})
    report, out = _convert("iiit5k", path, tmp_path, num_workers=workers)
    records = {r.text: r for r in _read_all(out)}
    assert sorted(records) == ["7", "Ab"] and report.written == 2
    np.testing.assert_allclose(records["Ab"].char_boxes,
                               [[10, 5, 30, 5, 30, 25, 10, 25], [35, 4, 53, 4, 53, 26, 35, 26]])
    np.testing.assert_allclose(records["7"].char_boxes, [[2, 3, 16, 3, 16, 27, 2, 27]])
    assert records["Ab"].source == f"{path}#1:train/1_1.png"
    reasons = {e["source"]: e["reason"] for e in report.errors}
    assert reasons == {f"{path}#2:train/2_1.png": "box_count",
                       f"{path}#3:train/missing.png": "missing_image",
                       f"{path}#4:": "malformed_entry",
                       f"{path}#5:train/3_1.png": "bad_boxes",
                       f"{path}#6:train/4_1.png": "box_outside"}
    assert all(e["message"] for e in report.errors)


def test_word_files_give_word_only_records_and_keep_benchmark_labels(tmp_path):
    """testdata.mat's GroundTruth, lexicons beside it: word-only records; as an evaluation
    set every label is kept as given."""
    _images(tmp_path)
    path = str(tmp_path / "testdata.mat")
    lexicon = np.array(["AB", "CD"], dtype=object)
    rows = [("train/1_1.png", "AB.", lexicon, lexicon), ("train/5_1.png", "7", lexicon, lexicon)]
    scipy_io.savemat(path, {"testdata": _structs(
        ("ImgName", "GroundTruth", "smallLexi", "mediumLexi"), rows)})
    report, out = _convert("iiit5k", path, tmp_path, evaluation_set=True)
    records = _read_all(out)
    assert [r.text for r in records] == ["AB.", "7"] and not report.errors
    assert all(r.char_boxes is None or len(r.char_boxes) == 0 for r in records)


def test_a_file_that_is_not_iiit5k_is_refused_by_name(tmp_path):
    path = str(tmp_path / "other.mat")
    scipy_io.savemat(path, {"imnames": np.array(["a.jpg"], dtype=object)})
    with pytest.raises(ValueError, match=r"other.mat: not one of IIIT5K's files"):
        _convert("iiit5k", path, tmp_path)
    path = str(tmp_path / "testCharBound.mat")
    scipy_io.savemat(path, {"testCharBound": _structs(("ImgName", "word"), [("a.png", "x")])})
    with pytest.raises(ValueError, match=r"testCharBound has no field\(s\) \['chars'\]"):
        _convert("iiit5k", path, tmp_path)

"""`convert --input_format=icdar_scenes`: ICDAR's localisation gt_*.txt over scenes with known
geometry, each word cut out upright whichever way round its corners go, every kind of bad
line reported, serial and parallel."""

import io

import numpy as np
import pytest
from PIL import Image

from pipelines.icdar_scenes import quad_fields, read_icdar_scenes
from pipelines.validation import LabelFileError
from tests.helpers import save_affine_word_scene
from tests.test_convert import _convert, _read_all

# A 100 x 30 word drawn into its scene by an affine map: scene = OFFSET + LINEAR @ crop.
CROP_W, CROP_H = 100, 30
OFFSET = np.array([50.0, 40.0])
LINEAR = np.array([[1.1, 0.1], [-0.15, 1.2]])


def _quad() -> list[float]:
    corners = np.array([[0, 0], [CROP_W, 0], [CROP_W, CROP_H], [0, CROP_H]], np.float64)
    return (corners @ LINEAR.T + OFFSET).reshape(-1).tolist()


def _scene(path):
    save_affine_word_scene(path, OFFSET, LINEAR, (CROP_W, CROP_H), (240, 120))


def _line(quad, text):
    return ",".join(f"{value:g}" for value in quad) + "," + text


def _write_scenes(tmp_path):
    images, gts = tmp_path / "images", tmp_path / "gt"
    images.mkdir()
    gts.mkdir()
    _scene(images / "img_1.jpg")
    _scene(images / "img_3.png")
    clockwise = _quad()
    anticlockwise = np.reshape(clockwise, (4, 2))[[0, 3, 2, 1]].reshape(-1).tolist()
    lines = [_line(clockwise, "Hello"), _line(anticlockwise, "Hello, again"),
             _line(clockwise, "###"), "1,2,3,Hello", _line([5] * 8, "flat")]
    (gts / "gt_img_1.txt").write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    (gts / "gt_img_2.txt").write_text(_line(clockwise, "gone") + "\n")
    (gts / "gt_img_3.txt").write_text(_line(clockwise, "png") + "\n")
    return gts, images


def test_quad_fields_keep_commas_in_the_text_and_turn_corners_clockwise():
    quad, text = quad_fields("0,0,10,0,10,5,0,5,a,b")
    assert text == "a,b" and quad.tolist() == [0, 0, 10, 0, 10, 5, 0, 5]
    quad, _ = quad_fields("0,0,0,5,10,5,10,0,x")  # the other way round, from the same corner
    assert quad.tolist() == [0, 0, 10, 0, 10, 5, 0, 5]
    assert quad_fields("0,0,10,0,10,5,0,5,Chinese,中文")[1] == "中文"  # MLT's script field
    assert quad_fields("0,0,10,0,10,5,0,5,None,###")[1] == "###"
    assert quad_fields("0,0,10,0,10,5,0,5,Latin")[1] == "Latin"  # a word, not a script
    assert quad_fields("0,0,10,0,10,5,0,5,Paris,France")[1] == "Paris,France"
    for bad in ("0,0,10,0,10,5,0,5", "0,0,10,0,10,5,0,x,word", ""):
        assert quad_fields(bad) is None, bad


@pytest.mark.parametrize("workers", [1, 2])
def test_scenes_convert_to_upright_words_and_bad_lines_are_reported(tmp_path, workers):
    gts, images = _write_scenes(tmp_path)
    report, out = _convert("icdar_scenes", gts, tmp_path, num_workers=workers,
                           image_root=str(images), evaluation_set=True)
    records = _read_all(out)
    assert sorted(r.text for r in records) == ["Hello", "Hello, again", "png"]
    # The crop's sides are the quadrilateral's (parallel sides of equal length here).
    width = round(np.hypot(*(LINEAR @ [CROP_W, 0])))
    height = round(np.hypot(*(LINEAR @ [0, CROP_H])))
    for record in records:
        crop = np.asarray(Image.open(io.BytesIO(record.image)).convert("L"), np.float64)
        assert crop.shape == (height, width), record.text
        assert crop[3:-3, 3:width // 2 - 3].max() < 40, record.text
        assert crop[3:-3, width // 2 + 3:-3].min() > 215, record.text
    reasons = {e["source"].rsplit("/", 1)[1]: e["reason"] for e in report.errors}
    assert reasons == {"gt_img_1.txt:3": "unreadable", "gt_img_1.txt:4": "malformed_line",
                       "gt_img_1.txt:5": "degenerate_box", "gt_img_2.txt:1": "missing_image"}
    missing = [e for e in report.errors if e["reason"] == "missing_image"][0]
    assert missing["message"].endswith(f"{images}/img_2.jpg")


def test_one_ground_truth_file_and_a_folder_without_any(tmp_path):
    gts, images = _write_scenes(tmp_path)
    items = list(read_icdar_scenes(str(gts / "gt_img_3.txt"), str(images)))
    assert [(i.text, i.image_path) for i in items] == [("png", str(images / "img_3.png"))]
    with pytest.raises(LabelFileError, match="a folder without gt_\\*.txt files"):
        list(read_icdar_scenes(str(images)))

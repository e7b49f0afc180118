"""`convert --input_format=coco_text`: COCO-Text v2's and TextOCR's JSON over photographs
with known content, COCO-Text's words cut out by their bbox and TextOCR's along their
polygons (rotated words come out upright), `--subset` keeping one set, every kind of bad
annotation reported, serial and parallel."""

import io
import json

import numpy as np
import pytest
from PIL import Image

from pipelines.coco_text import read_coco_text, text_quad
from tests.helpers import assert_label_file_error
from tests.test_convert import _convert, _read_all
from tests.test_svt import _photo


def _annotation(ann_id, image_id, bbox, text, **extra):
    return str(ann_id), {"id": ann_id, "image_id": image_id, "bbox": bbox,
                         "utf8_string": text, **extra}


def _write_coco_text(tmp_path) -> str:
    """COCO-Text's layout: integer ids kept as strings in the maps, both sets in one file."""
    (tmp_path / "imgs").mkdir()
    _photo(tmp_path / "imgs" / "COCO_train2014_000000000001.jpg")
    _photo(tmp_path / "imgs" / "COCO_train2014_000000000002.jpg")
    anns = dict([
        _annotation(10, 1, [40, 20, 80, 30], "LIVING", legibility="legible"),
        _annotation(11, 1, [40, 60, 50, 20], "", legibility="illegible"),
        _annotation(12, 1, [190, 60, 60, 20], "OUT", legibility="legible"),
        _annotation(13, 1, "wide", "BAD", legibility="legible"),
        _annotation(15, 1, [40, 20, 80, 30], "FEW", points=[40, 20, 120, 20, 120, 50]),
        _annotation(20, 2, [40, 20, 80, 30], "VALWORD", legibility="legible"),
        _annotation(30, 3, [0, 0, 10, 10], "GONE", legibility="legible"),
    ])
    imgs = {"1": {"id": 1, "set": "train", "file_name": "imgs/COCO_train2014_000000000001.jpg"},
            "2": {"id": 2, "set": "val", "file_name": "imgs/COCO_train2014_000000000002.jpg"},
            "3": {"id": 3, "set": "train", "file_name": "imgs/missing.jpg"}}
    to_anns = {"1": [10, 11, 12, 13, 14, 15], "2": [20], "3": [30]}  # 14: no such annotation
    path = tmp_path / "cocotext.v2.json"
    path.write_text(json.dumps({"anns": anns, "imgs": imgs, "imgToAnns": to_anns, "cats": {},
                                "info": {}}))
    return str(path)


@pytest.mark.parametrize("workers", [1, 2])
def test_coco_text_converts_words_of_one_set_and_reports_bad_annotations(tmp_path, workers):
    path = _write_coco_text(tmp_path)
    report, out = _convert("coco_text", path, tmp_path, num_workers=workers,
                           evaluation_set=True, subset="train")
    records = {r.text: r for r in _read_all(out)}
    assert sorted(records) == ["LIVING"]
    living = np.asarray(Image.open(io.BytesIO(records["LIVING"].image)).convert("L"), float)
    assert living.shape == (30, 80)
    assert living[3:-3, 3:37].max() < 40 and living[3:-3, 43:-3].min() > 215
    reasons = {e["source"].split("#", 1)[1]: e["reason"] for e in report.errors}
    assert reasons == {"11:imgs/COCO_train2014_000000000001.jpg": "unreadable",
                       "12:imgs/COCO_train2014_000000000001.jpg": "box_outside",
                       "13:imgs/COCO_train2014_000000000001.jpg": "bad_boxes",
                       "14:imgs/COCO_train2014_000000000001.jpg": "malformed_entry",
                       "15:imgs/COCO_train2014_000000000001.jpg": "bad_boxes",
                       "30:imgs/missing.jpg": "missing_image"}

    report, out = _convert("coco_text", path, tmp_path / "val", num_workers=workers,
                           evaluation_set=True, subset="val")
    assert [r.text for r in _read_all(out)] == ["VALWORD"] and not report.errors


def test_textocr_layout_names_its_illegible_words(tmp_path):
    """TextOCR: string ids, `.` for a word nobody could read, polygons beside the bbox; an
    image entry that is not an object has its words reported."""
    (tmp_path / "train").mkdir()
    _photo(tmp_path / "train" / "a4ea732cd3d5948a.jpg")
    anns = dict([
        _annotation("a4ea732cd3d5948a_1", "a4ea732cd3d5948a", [40.0, 20.0, 80.0, 30.0],
                    "Living", points=[40, 20, 120, 20, 120, 50, 40, 50]),
        _annotation("a4ea732cd3d5948a_2", "a4ea732cd3d5948a", [40, 60, 50, 20], "."),
    ])
    imgs = {"a4ea732cd3d5948a": {"id": "a4ea732cd3d5948a", "set": "train",
                                 "file_name": "train/a4ea732cd3d5948a.jpg"},
            "broken": "not an image entry"}
    path = tmp_path / "TextOCR_0.1_train.json"
    path.write_text(json.dumps({"anns": anns, "imgs": imgs, "imgToAnns": {
        "a4ea732cd3d5948a": ["a4ea732cd3d5948a_1", "a4ea732cd3d5948a_2"],
        "broken": "broken_1"}}))
    items = list(read_coco_text(str(path)))
    assert len(items) == 3 and items[2].error.reason == "malformed_entry"
    assert items[0].text == "Living" and items[0].image_path == str(
        tmp_path / "train" / "a4ea732cd3d5948a.jpg")
    np.testing.assert_array_equal(items[0].word_quad, [40, 20, 120, 20, 120, 50, 40, 50])
    assert items[1].error.reason == "unreadable"


WORD_W, WORD_H = 80, 30  # the word's box in its own frame: left half black, right half white


def _rotation(degrees):
    """Turns points clockwise on screen (image y runs down)."""
    a = np.radians(degrees)
    return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])


def _word_corners(centre, degrees):
    """The word's top-left, top-right, bottom-right, bottom-left in the photograph."""
    own = np.array([[0, 0], [WORD_W, 0], [WORD_W, WORD_H], [0, WORD_H]], float)
    return (own - [WORD_W / 2, WORD_H / 2]) @ _rotation(degrees).T + centre


def _draw_words(size, words):
    """A grey photograph with each (centre, degrees) word drawn turned by that angle."""
    ys, xs = np.mgrid[0:size, 0:size] + 0.5
    pixels = np.full((size, size), 128, np.uint8)
    for centre, degrees in words:
        own = (np.stack([xs, ys], -1) - centre) @ _rotation(degrees) + [WORD_W / 2, WORD_H / 2]
        inside = (own[..., 0] >= 0) & (own[..., 0] < WORD_W) & (own[..., 1] >= 0) & (
            own[..., 1] < WORD_H)
        pixels[inside] = np.where(own[..., 0][inside] < WORD_W / 2, 0, 255)
    return np.repeat(pixels[..., None], 3, axis=-1)


def test_textocr_words_are_cut_along_their_polygons_upright(tmp_path):
    """TextOCR's points run clockwise from the text's own top-left: words turned by 30, 90
    and 150 degrees come out upright, black half first, as does a turned word drawn with
    eight points and one whose four points cross (the rectangle around them)."""
    centres = {"turned30": (100, 100), "turned90": (300, 100), "turned150": (100, 300),
               "eightpoints": (300, 300), "crossing": (200, 200)}
    angles = {"turned30": 30, "turned90": 90, "turned150": 150, "eightpoints": -60,
              "crossing": 0}
    (tmp_path / "train").mkdir()
    Image.fromarray(_draw_words(400, [(centres[k], angles[k]) for k in centres])).save(
        tmp_path / "train" / "photo.png")
    points = {k: _word_corners(centres[k], angles[k]) for k in centres}
    tl, tr, br, bl = points["eightpoints"]
    top, bottom = [tl + f * (tr - tl) for f in (0, 1 / 3, 2 / 3, 1)], [
        br + f * (bl - br) for f in (0, 1 / 3, 2 / 3, 1)]
    points["eightpoints"] = np.array(top + bottom)
    points["crossing"] = points["crossing"][[0, 1, 3, 2]]  # top-left, top-right, then crossed
    anns = {k: {"id": k, "image_id": "photo", "utf8_string": k,
                "points": np.round(p, 3).reshape(-1).tolist(),
                "bbox": [*p.min(0).tolist(), *(p.max(0) - p.min(0)).tolist()]}
            for k, p in points.items()}
    path = tmp_path / "TextOCR_0.1_train.json"
    path.write_text(json.dumps({"anns": anns, "imgs": {"photo": {
        "id": "photo", "set": "train", "file_name": "train/photo.png"}},
        "imgToAnns": {"photo": list(anns)}}))
    report, out = _convert("coco_text", path, tmp_path, evaluation_set=True)
    assert not report.errors
    records = {r.text: r for r in _read_all(out)}
    assert sorted(records) == sorted(centres)
    for name, record in records.items():
        crop = np.asarray(Image.open(io.BytesIO(record.image)).convert("L"), float)
        assert crop.shape == (WORD_H, WORD_W), name
        assert crop[4:-4, 4:36].max() < 40 and crop[4:-4, 44:-4].min() > 215, name


@pytest.mark.parametrize("points, expected", [
    # a tall single letter's six points: upright, though the polygon is longest up and down
    ([[10, 0], [20, 0], [20, 20], [20, 40], [10, 40], [10, 20]],
     [10, 0, 20, 0, 20, 40, 10, 40]),
    # a word bent into an arch: the rectangle along its chord, around every point
    ([[0, 10], [50, 0], [100, 10], [100, 30], [50, 20], [0, 30]],
     [0, 0, 100, 0, 100, 30, 0, 30]),
    # four points in reading order: the quadrilateral itself, perspective kept
    ([[0, 0], [100, 10], [100, 40], [0, 30]], [0, 0, 100, 10, 100, 40, 0, 30]),
])
def test_text_quad_follows_the_text_not_the_polygon_shape(points, expected):
    np.testing.assert_allclose(text_quad(np.array(points, float)), expected, atol=1e-9)


@pytest.mark.parametrize("content, message", [
    ('{"anns": {}', "not JSON"),
    ('{"images": [], "annotations": []}', "whose JSON object holds imgs, anns, imgToAnns"),
])
def test_a_file_of_another_layout_is_named_with_the_reason(tmp_path, content, message):
    assert_label_file_error(read_coco_text, tmp_path / "labels.json", content, message)

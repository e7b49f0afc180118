"""`convert --input_format=coco_text`: COCO-Text v2's and TextOCR's JSON over photographs
with known content, each word cut out by its bbox, `--subset` keeping one set, every kind of
bad annotation reported, serial and parallel."""

import io
import json

import numpy as np
import pytest
from PIL import Image

from pipelines.coco_text import read_coco_text
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
        _annotation(20, 2, [40, 20, 80, 30], "VALWORD", legibility="legible"),
        _annotation(30, 3, [0, 0, 10, 10], "GONE", legibility="legible"),
    ])
    imgs = {"1": {"id": 1, "set": "train", "file_name": "imgs/COCO_train2014_000000000001.jpg"},
            "2": {"id": 2, "set": "val", "file_name": "imgs/COCO_train2014_000000000002.jpg"},
            "3": {"id": 3, "set": "train", "file_name": "imgs/missing.jpg"}}
    to_anns = {"1": [10, 11, 12, 13, 14], "2": [20], "3": [30]}  # 14: no such annotation
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


@pytest.mark.parametrize("content, message", [
    ('{"anns": {}', "not JSON"),
    ('{"images": [], "annotations": []}', "whose JSON object holds imgs, anns, imgToAnns"),
])
def test_a_file_of_another_layout_is_named_with_the_reason(tmp_path, content, message):
    assert_label_file_error(read_coco_text, tmp_path / "labels.json", content, message)

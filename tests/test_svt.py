"""`convert --input_format=svt`: Street View Text's XML over photographs with known content,
each word cut out upright (a box past the photograph's edge clipped, not filled with black),
every kind of bad entry reported, serial and parallel."""

import io

import numpy as np
import pytest
from PIL import Image

from pipelines.rectify import clip_upright_rectangle
from pipelines.svt import read_svt
from tests.helpers import assert_label_file_error
from tests.test_convert import _convert, _read_all

PHOTO_W, PHOTO_H = 200, 100


def _photo(path):
    """Grey; the word LIVING's box (40, 20, 80 x 30) black in its left half, white in its
    right half; a light strip along the right edge where a box runs past it."""
    pixels = np.full((PHOTO_H, PHOTO_W, 3), 128, np.uint8)
    pixels[20:50, 40:80] = 0
    pixels[20:50, 80:120] = 255
    pixels[:, 170:] = 220
    Image.fromarray(pixels).save(path, quality=95)


def _rectangle(x, y, width, height, tag, **extra):
    attributes = " ".join(f'{k}="{v}"' for k, v in
                          dict(height=height, width=width, x=x, y=y, **extra).items())
    return f"<taggedRectangle {attributes}><tag>{tag}</tag></taggedRectangle>"


def _image(name, *rectangles):
    return (f"<image><imageName>{name}</imageName><address>1 Main St</address>"
            f"<lex>LIVING,ROOM,EDGE</lex><Resolution x=\"{PHOTO_W}\" y=\"{PHOTO_H}\"/>"
            f"<taggedRectangles>{''.join(rectangles)}</taggedRectangles></image>")


def _write_svt(tmp_path) -> str:
    (tmp_path / "img").mkdir()
    _photo(tmp_path / "img" / "14_03.jpg")
    images = [
        _image("img/14_03.jpg",
               _rectangle(40, 20, 80, 30, "LIVING"),
               _rectangle(175, 30, 40, 20, "EDGE"),  # 15 of its 40 pixels past the edge
               _rectangle(40, 60, "wide", 20, "BAD"),
               _rectangle(40, 20, 80, 30, "TURNED", rotation=10, offset=0),
               _rectangle(190, 60, 60, 20, "OUT"),
               _rectangle(40, 60, 0, 20, "FLAT"),
               _rectangle(40, 60, 50, 20, "")),
        _image("", _rectangle(0, 0, 10, 10, "NONAME")),
        _image("img/missing.jpg", _rectangle(0, 0, 10, 10, "GONE")),
    ]
    path = tmp_path / "test.xml"
    path.write_text('<?xml version="1.0" encoding="utf-8"?>\n<tagset>'
                    + "\n".join(images) + "</tagset>\n")
    return str(path)


def test_read_svt_names_every_word_by_image_and_rectangle(tmp_path):
    items = list(read_svt(_write_svt(tmp_path)))
    assert len(items) == 9
    first = items[0]
    assert first.source.endswith("test.xml#1:img/14_03.jpg#1") and first.text == "LIVING"
    assert first.image_path == str(tmp_path / "img" / "14_03.jpg")
    np.testing.assert_array_equal(first.word_quad, [40, 20, 120, 20, 120, 50, 40, 50])
    assert first.char_boxes is None
    assert items[2].error.reason == "bad_boxes" and "width='wide'" in items[2].error.message
    # ICDAR 2003's rotation is left out, as the tools that cut its words out leave it.
    np.testing.assert_array_equal(items[3].word_quad, first.word_quad)
    assert items[7].error.reason == "malformed_entry"


def test_clip_upright_rectangle_clips_rectangles_only():
    rectangle = np.array([[175, 30], [215, 30], [215, 50], [175, 50]], np.float64)
    np.testing.assert_array_equal(clip_upright_rectangle(rectangle, 200, 100),
                                  [[175, 30], [200, 30], [200, 50], [175, 50]])
    slanted = np.array([[175, 30], [215, 34], [215, 54], [175, 50]], np.float64)
    np.testing.assert_array_equal(clip_upright_rectangle(slanted, 200, 100), slanted)


@pytest.mark.parametrize("workers", [1, 2])
def test_svt_converts_words_and_reports_bad_entries(tmp_path, workers):
    report, out = _convert("svt", _write_svt(tmp_path), tmp_path, num_workers=workers,
                           evaluation_set=True)
    records = {r.text: r for r in _read_all(out)}
    assert sorted(records) == ["EDGE", "LIVING", "TURNED"]
    assert report.written == 3
    assert records["TURNED"].image == records["LIVING"].image

    living = np.asarray(Image.open(io.BytesIO(records["LIVING"].image)).convert("L"), float)
    assert living.shape == (30, 80) and records["LIVING"].char_boxes is None
    assert living[3:-3, 3:37].max() < 40 and living[3:-3, 43:-3].min() > 215

    # The box ran 15 pixels past the photograph: its crop holds the 25 that are inside.
    edge = np.asarray(Image.open(io.BytesIO(records["EDGE"].image)).convert("L"), float)
    assert edge.shape == (20, 25)
    assert edge.min() > 190

    reasons = {e["source"].split("#", 1)[1]: e["reason"] for e in report.errors}
    assert reasons == {"1:img/14_03.jpg#3": "bad_boxes",
                       "1:img/14_03.jpg#5": "box_outside", "1:img/14_03.jpg#6": "degenerate_box",
                       "1:img/14_03.jpg#7": "empty_text", "2:#1": "malformed_entry",
                       "3:img/missing.jpg#1": "missing_image"}


@pytest.mark.parametrize("content, message", [
    ("<tagset><image>", "not well-formed XML"),
    ("<annotations><image/></annotations>", "root is <tagset>, not <annotations>"),
])
def test_a_file_that_is_not_svt_xml_is_named_with_the_reason(tmp_path, content, message):
    assert_label_file_error(read_svt, tmp_path / "test.xml", content, message)

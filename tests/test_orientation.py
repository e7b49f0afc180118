"""Images stored turned, with an EXIF orientation saying how they are seen (as phones save
photos): `convert` stores them upright and `predict` reads them upright."""

import io
import json

import numpy as np
import pytest
from PIL import Image

from pipelines.orientation import upright
from tests.test_convert import _convert, _read_all


def _upright_pattern(width=120, height=40) -> np.ndarray:
    """Dark left half, bright right half, a red band along the top: every turn or mirror of
    it differs from it."""
    image = np.full((height, width, 3), 30, np.uint8)
    image[:, width // 2:] = 220
    image[: height // 4, :, 0] = 250
    return image


# How a camera stores the upright pattern for each orientation, as the EXIF standard defines
# them (numpy's rot90 turns counter-clockwise): what the viewer turns back.
STORED = {1: lambda u: u, 2: np.fliplr, 3: lambda u: np.rot90(u, 2),
          6: lambda u: np.rot90(u, 1), 8: lambda u: np.rot90(u, -1)}


def _encoded(pixels: np.ndarray, orientation: int, fmt: str = "PNG") -> bytes:
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(out, format=fmt, exif=exif, quality=95)
    return out.getvalue()


@pytest.mark.parametrize("orientation", sorted(STORED))
def test_upright_turns_each_orientation_back_to_what_the_viewer_shows(orientation):
    want = _upright_pattern()
    data = _encoded(STORED[orientation](want), orientation)
    image, turned = upright(Image.open(io.BytesIO(data)))
    assert turned == (orientation != 1)
    np.testing.assert_array_equal(np.asarray(image.convert("RGB")), want)


@pytest.mark.parametrize("workers", [1, 2])
def test_convert_stores_a_phone_photo_upright_with_its_boxes_in_the_upright_frame(tmp_path,
                                                                                  workers):
    """A JPEG stored turned (orientation 6) beside one stored upright: both records come out
    120 x 40 with the dark half on the left; a box in the right half of the upright image
    (outside the stored 40 x 120 pixels) is kept; the report counts the turned one."""
    want = _upright_pattern()
    (tmp_path / "turned.jpg").write_bytes(_encoded(STORED[6](want), 6, "JPEG"))
    (tmp_path / "plain.jpg").write_bytes(_encoded(want, 1, "JPEG"))
    boxes = [[62, 12, 88, 38], [90, 12, 116, 38]]
    (tmp_path / "labels.jsonl").write_text("".join(
        json.dumps({"image": name, "text": "ok", "char_boxes": boxes}) + "\n"
        for name in ("turned.jpg", "plain.jpg")))
    report, out = _convert("jsonl", tmp_path / "labels.jsonl", tmp_path, num_workers=workers)
    assert report.written == 2 and not report.errors and report.turned_upright == 1
    assert "1 image(s) turned upright" in report.summary()
    records = {r.source.rsplit(":", 1)[-1]: r for r in _read_all(out)}
    for record in records.values():
        assert (record.width, record.height) == (120, 40)
        pixels = np.asarray(Image.open(io.BytesIO(record.image)).convert("RGB"), np.float32)
        assert pixels[:, :50].mean() < 60 and pixels[20:, 70:].mean() > 190
        assert pixels[:8, :, 0].mean() > pixels[-8:, :, 0].mean() + 100  # red band on top
        np.testing.assert_allclose(record.char_boxes[:, [0, 1, 4, 5]], boxes)
    assert records["2"].image == (tmp_path / "plain.jpg").read_bytes()  # kept as given

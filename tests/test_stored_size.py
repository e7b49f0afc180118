"""`convert` stores a large image shrunk to what training can use: its aspect kept, its
character boxes scaled with it, serial and parallel; small images keep their bytes."""

import io
import json

import numpy as np
import pytest
from PIL import Image

from pipelines.stored_size import shrink_factor
from tests.conftest import write_image
from tests.test_convert import _convert, _read_all


@pytest.mark.parametrize("height, width, max_height, factor", [
    (300, 900, 128, 512 / 900),   # shrunk until 512 wide: then it is 171 high
    (1000, 4000, 128, 0.128),     # both sides reach their limit together
    (100, 2000, 128, 1.0),        # low already: any shrinking would cost height
    (300, 300, 128, 1.0),         # narrow already: any shrinking would cost width
    (40, 133, 128, 1.0),
    (300, 900, 0, 1.0),           # 0: every image at its own size
])
def test_shrink_factor_keeps_each_side_down_to_its_limit(height, width, max_height, factor):
    assert shrink_factor(height, width, max_height) == pytest.approx(factor)


def _big_word(path, fmt):
    """600x2000: grey, one black block (x 400..800, y 150..450) where its first box says."""
    pixels = np.full((600, 2000, 3), 160, np.uint8)
    pixels[150:450, 400:800] = 0
    Image.fromarray(pixels).save(path, format=fmt, quality=95)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_large_image_is_stored_shrunk_with_its_boxes(tmp_path, image_dir, workers):
    _big_word(image_dir / "big.jpg", "JPEG")
    _big_word(image_dir / "big.png", "PNG")
    write_image(image_dir / "small.png", 40, 16)
    boxes = [[400, 150, 800, 450], [1000, 150, 1400, 450]]
    lines = [{"image": "images/big.jpg", "text": "ab", "char_boxes": boxes},
             {"image": "images/big.png", "text": "cd", "char_boxes": boxes},
             {"image": "images/small.png", "text": "ok"}]
    (tmp_path / "labels.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    report, out = _convert("jsonl", tmp_path / "labels.jsonl", tmp_path, num_workers=workers)
    assert report.written == 3 and report.shrunk == 2 and not report.errors
    assert "2 large image(s) stored shrunk" in report.summary()
    records = {r.text: r for r in _read_all(out)}
    assert records["ok"].image == (image_dir / "small.png").read_bytes()
    for text, fmt in (("ab", "JPEG"), ("cd", "PNG")):
        record = records[text]
        image = Image.open(io.BytesIO(record.image))
        # 2000 wide -> 512 (four times 128), 600 high -> 154: the aspect kept
        assert image.format == fmt and image.size == (512, 154)
        assert (record.height, record.width) == (154, 512)
        sx, sy = 512 / 2000, 154 / 600
        np.testing.assert_allclose(record.char_boxes[0], np.array(
            [400 * sx, 150 * sy, 800 * sx, 150 * sy, 800 * sx, 450 * sy, 400 * sx, 450 * sy]),
            rtol=1e-6)
        # the block is where its scaled box says, and grey beyond it
        grey = np.asarray(image.convert("L"), float)
        x1, y1, x2, y2 = (round(v) for v in (400 * sx, 150 * sy, 800 * sx, 450 * sy))
        assert grey[y1 + 3:y2 - 3, x1 + 3:x2 - 3].max() < 30
        assert grey[y1 + 3:y2 - 3, x2 + 4:x2 + 20].min() > 130

    report, out = _convert("jsonl", tmp_path / "labels.jsonl", tmp_path / "kept",
                           num_workers=workers, max_image_height=0)
    assert report.shrunk == 0
    assert {r.text: r.image for r in _read_all(out)}["cd"] == (image_dir / "big.png").read_bytes()

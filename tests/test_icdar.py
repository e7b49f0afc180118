"""`convert --input_format=icdar`: the ICDAR word-recognition `gt.txt` (quoted, escaped
labels, a byte-order mark first) and ICDAR 2003's `word.xml`, every kind of bad line or
entry reported, serial and parallel."""

import pytest
from PIL import Image

from pipelines.sources import icdar_fields, read_items
from tests.helpers import assert_label_file_error
from tests.test_convert import _convert, _read_all


def test_icdar_fields_unquote_and_unescape_the_label():
    assert icdar_fields('word_1.png, "Tiredness"') == ("word_1.png", "Tiredness")
    assert icdar_fields('word_2.png, "\\"Rock\\""') == ("word_2.png", '"Rock"')
    assert icdar_fields('word_3.png,"a\\\\b, c"') == ("word_3.png", "a\\b, c")
    for bad in ("word_4.png Tiredness", 'word_5.png, Tiredness', ', "x"', 'w.png, "'):
        assert icdar_fields(bad) is None, bad


@pytest.mark.parametrize("workers", [1, 2])
def test_icdar_gt_converts_and_reports_bad_lines(tmp_path, workers):
    for i in (1, 2, 3):
        Image.new("RGB", (40, 16), (250, 250, 250)).save(tmp_path / f"word_{i}.png")
    lines = ['word_1.png, "Tiredness"', 'word_2.png, "\\"Rock\\""', 'word_3.png, "kills"',
             "word_4.png Tiredness", 'missing.png, "gone"', ', "x"']
    (tmp_path / "gt.txt").write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    report, out = _convert("icdar", tmp_path / "gt.txt", tmp_path, num_workers=workers)
    assert sorted(r.text for r in _read_all(out)) == ["Rock", "Tiredness", "kills"]
    assert report.relabelled == 1  # the quotes around Rock are not read by alnum36
    reasons = {e["source"].rsplit(":", 1)[1]: e["reason"] for e in report.errors}
    assert reasons == {"4": "malformed_line", "5": "missing_image", "6": "malformed_line"}

    report, out = _convert("icdar", tmp_path / "gt.txt", tmp_path / "bench",
                           num_workers=workers, evaluation_set=True)
    assert sorted(r.text for r in _read_all(out)) == ['"Rock"', "Tiredness", "kills"]


def test_a_byte_order_mark_is_not_part_of_a_tsv_path(tmp_path):
    Image.new("RGB", (40, 16), (250, 250, 250)).save(tmp_path / "a.png")
    (tmp_path / "labels.tsv").write_bytes("\ufeffa.png\tok\n".encode())
    report, out = _convert("tsv", tmp_path / "labels.tsv", tmp_path)
    assert report.written == 1 and not report.errors


def _write_word_xml(tmp_path) -> str:
    """ICDAR 2003's word-recognition layout: `word.xml` beside `word/<n>/<m>.jpg` crops."""
    (tmp_path / "word" / "1").mkdir(parents=True)
    for i in (1, 2, 3):
        Image.new("RGB", (40, 16), (250, 250, 250)).save(tmp_path / "word" / "1" / f"{i}.jpg")
    entries = ['<image file="word/1/1.jpg" tag="Tiredness" />',
               '<image file="word/1/2.jpg" tag="&quot;kills&quot;" />',
               '<image file="word/1/3.jpg" />',
               '<image tag="nofile" />',
               '<image file="word/1/9.jpg" tag="gone" />',
               '<image file="word/1/3.jpg" tag="" />']
    path = tmp_path / "word.xml"
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<imagelist>\n'
                    + "\n".join(entries) + "\n</imagelist>\n")
    return str(path)


@pytest.mark.parametrize("workers", [1, 2])
def test_icdar_2003_word_xml_converts_and_reports_bad_entries(tmp_path, workers):
    report, out = _convert("icdar", _write_word_xml(tmp_path), tmp_path, num_workers=workers,
                           evaluation_set=True)
    records = {r.text: r for r in _read_all(out)}
    assert sorted(records) == ['"kills"', "Tiredness"]
    assert records["Tiredness"].image == (tmp_path / "word" / "1" / "1.jpg").read_bytes()
    reasons = {e["source"].split("#", 1)[1]: e["reason"] for e in report.errors}
    assert reasons == {"3:word/1/3.jpg": "malformed_entry", "4:": "malformed_entry",
                       "5:word/1/9.jpg": "missing_image", "6:word/1/3.jpg": "empty_text"}


def test_a_scene_file_given_as_icdar_2003_words_is_named_with_its_root(tmp_path):
    assert_label_file_error(
        lambda path: read_items("icdar", path), tmp_path / "words.xml",
        "<tagset><image><imageName>a.jpg</imageName></image></tagset>",
        r"root is <imagelist>, not <tagset> \(--input_format=svt reads that\)")

import numpy as np
import pytest

from textscanner.charset import Charset, load_charset


def test_named_sets_sizes_and_background():
    assert load_charset("alnum36").num_classes == 37
    assert load_charset("alnum62").num_classes == 63
    assert load_charset("printable94").num_classes == 95
    cs = load_charset("alnum36")
    assert cs.encode("a0").ids == [11, 1]  # digits first, class 0 is the background


def test_alnum36_folds_case_and_keeps_length():
    cs = load_charset("alnum36")
    assert cs.encode("HeLLo9").ids == cs.encode("hello9").ids
    assert cs.decode(cs.encode("HeLLo9").ids) == "hello9"


def test_alnum62_is_case_sensitive_and_reports_unknown():
    cs = load_charset("alnum62")
    assert cs.encode("Ab").ids != cs.encode("ab").ids
    encoded = cs.encode("a-b!")
    assert encoded.unknown == ["-", "!"] and not encoded.ok


def test_unknown_never_maps_to_background():
    cs = load_charset("alnum36")
    encoded = cs.encode("a b")
    assert 0 not in encoded.ids and encoded.unknown == [" "]


def test_file_charset_with_6000_cjk_characters(tmp_path):
    chars = [chr(0x4E00 + i) for i in range(6000)]
    path = tmp_path / "cjk.txt"
    path.write_text("\n".join(chars) + "\n", encoding="utf-8")
    cs = load_charset(str(path))
    assert cs.num_classes == 6001
    text = chars[5999] + chars[0] + chars[1234]
    assert cs.encode(text).ids == [6000, 1, 1235]
    assert cs.decode(cs.encode(text).ids) == text


def test_file_charset_applies_nfc(tmp_path):
    path = tmp_path / "accents.txt"
    path.write_text("e\u0301\nx\n", encoding="utf-8")  # decomposed e-acute
    cs = load_charset(str(path))
    assert cs.chars == ("\u00e9", "x")
    assert cs.encode("e\u0301x").ids == [1, 2]


def test_bad_charset_specs(tmp_path):
    with pytest.raises(ValueError, match="neither a named set"):
        load_charset("no-such-charset")
    bad = tmp_path / "bad.txt"
    bad.write_text("ab\n", encoding="utf-8")
    with pytest.raises(ValueError, match="one character per line"):
        load_charset(str(bad))
    with pytest.raises(ValueError, match="repeats"):
        Charset(("a", "a"))


def test_decode_skips_background_and_out_of_range():
    cs = load_charset("alnum36")
    assert cs.decode(np.array([0, 11, 0, 12, 99])) == "ab"


def test_reads_like_compares_the_class_ids_not_the_name():
    alnum = load_charset("alnum36")
    assert alnum.reads_like(Charset(alnum.chars, case_fold=True, name="another name"))
    assert not alnum.reads_like(Charset(alnum.chars, case_fold=False))
    assert not alnum.reads_like(Charset(alnum.chars[::-1], case_fold=True))

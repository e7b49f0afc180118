"""Metrics against values computed by hand on a few known strings."""

import pytest

from textscanner.charset import Charset, load_charset
from textscanner.metrics import (CASE_INSENSITIVE_ALPHANUMERIC, EXACT_WHITESPACE_NORMALIZED,
                                 RecognitionMetrics, common_chars, edit_distance, normalize,
                                 word_rule)

CJK = Charset(tuple("中文字"), name="cjk")


def test_helpers():
    assert normalize("Hello, World-2!", CASE_INSENSITIVE_ALPHANUMERIC) == "helloworld2"
    assert normalize("  中文\t 字 ", EXACT_WHITESPACE_NORMALIZED) == "中文 字"
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3 and edit_distance("abc", "abc") == 0
    assert common_chars("hallo", "hello") == 4


def test_rule_follows_the_charset():
    for name in ("alnum36", "alnum62", "printable94"):
        assert word_rule(load_charset(name)) == CASE_INSENSITIVE_ALPHANUMERIC, name
    assert word_rule(CJK) == EXACT_WHITESPACE_NORMALIZED
    assert word_rule(Charset(tuple("abc"), name="abc")) == EXACT_WHITESPACE_NORMALIZED
    latin_and_more = Charset(tuple("0123456789abcdefghijklmnopqrstuvwxyzé"), name="fr")
    assert word_rule(latin_and_more) == EXACT_WHITESPACE_NORMALIZED


def test_alphanumeric_metrics_by_hand():
    m = RecognitionMetrics.for_charset(load_charset("alnum36"))
    # (prediction, label as stored, label as alnum36 spells it)
    m.update("hello", "Hello", "hello")  # right, exact right (the charset folds case)
    m.update("world", "world!", "world!", outside_charset=True)  # right; exact wrong
    m.update("hallo", "hello", "hello")  # wrong: ED 1 of 5, 4 matched
    m.update("ab", "abcd", "abcd")  # wrong: ED 2 of 4, 2 matched
    m.update("abc", "abc", "abc")  # all right
    r = m.result()
    assert r["num_samples"] == 5 and r["num_outside_charset"] == 1
    assert r["word_rule"] == CASE_INSENSITIVE_ALPHANUMERIC
    assert r["word_accuracy"] == pytest.approx(3 / 5)
    assert r["word_accuracy_exact"] == pytest.approx(2 / 5)
    assert r["one_minus_ned"] == pytest.approx((1 + 1 + 0.8 + 0.5 + 1) / 5)
    # predicted chars 5+5+5+2+3 = 20, true 5+5+5+4+3 = 22, matched 5+5+4+2+3 = 19
    assert r["char_precision"] == pytest.approx(19 / 20)
    assert r["char_recall"] == pytest.approx(19 / 22)


def test_upper_case_labels_with_a_case_folding_charset():
    charset = load_charset("alnum36")
    m = RecognitionMetrics.for_charset(charset)
    for label in ("HELLO", "Bank", "IN2"):
        assert m.update(label.lower(), label, charset.prepare(label))
    r = m.result()
    assert r["word_accuracy"] == 1.0 and r["word_accuracy_exact"] == 1.0


def test_cjk_labels_are_never_read_by_an_empty_or_latin_prediction():
    m = RecognitionMetrics.for_charset(CJK)
    assert not m.update("", "中文")  # was scored as a hit when only [0-9a-z] was kept
    assert not m.update("abc", "中文")
    assert not m.update("中", "中文")
    assert m.update("中文", "中文")
    assert m.update("中文 字", " 中文  字")  # white space is normalised, not dropped
    assert not m.update("中文字", "中文 字")
    r = m.result()
    assert r["word_rule"] == EXACT_WHITESPACE_NORMALIZED
    assert r["word_accuracy"] == pytest.approx(2 / 6)
    # "" and "abc" against "中文": 0; "中": ED 1 of 2; "中文字" against "中文 字": 1 of 4.
    assert r["one_minus_ned"] == pytest.approx((0 + 0 + 0.5 + 1 + 1 + 0.75) / 6)


def test_punctuation_only_and_empty_labels():
    alnum = RecognitionMetrics.for_charset(load_charset("alnum36"))
    # A model that cannot spell punctuation reads "!!" right by reading nothing.
    assert alnum.update("", "!!", outside_charset=True)
    assert not alnum.update("a", "!!", outside_charset=True)
    assert alnum.update("", "")
    assert not alnum.update("x", "")
    exact = RecognitionMetrics.for_charset(load_charset("printable94"))
    assert exact.rule == CASE_INSENSITIVE_ALPHANUMERIC
    custom = RecognitionMetrics.for_charset(Charset(tuple("!?."), name="punct"))
    assert not custom.update("", "!!")
    assert custom.update("!!", "!!")


def test_empty_prediction_and_merge():
    a, b = RecognitionMetrics(), RecognitionMetrics()
    a.update("", "abc")
    b.update("abc", "abc")
    r = a.merge(b).result()
    assert r["word_accuracy"] == 0.5 and r["one_minus_ned"] == 0.5
    assert r["char_precision"] == 1.0 and r["char_recall"] == 0.5
    with pytest.raises(ValueError, match="cannot pool"):
        a.merge(RecognitionMetrics.for_charset(CJK))

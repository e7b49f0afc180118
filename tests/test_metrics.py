"""Metrics against values computed by hand on a few known strings."""

import pytest

from textscanner.metrics import RecognitionMetrics, academic, common_chars, edit_distance


def test_helpers():
    assert academic("Hello, World-2!") == "helloworld2"
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3 and edit_distance("abc", "abc") == 0
    assert common_chars("hallo", "hello") == 4


def test_metrics_by_hand():
    m = RecognitionMetrics()
    # (prediction, label as stored, label in the charset's spelling)
    m.update("hello", "Hello", "hello")  # academic yes, exact no, ED 0
    m.update("world", "world!", "world")  # academic yes (punctuation dropped), exact no
    m.update("hallo", "hello", "hello")  # wrong: ED 1 of 5, 4 matched
    m.update("ab", "abcd", "abcd")  # wrong: ED 2 of 4, 2 matched
    m.update("abc", "abc", "abc")  # all right
    r = m.result()
    assert r["num_samples"] == 5
    assert r["word_accuracy"] == pytest.approx(3 / 5)
    assert r["word_accuracy_exact"] == pytest.approx(1 / 5)
    assert r["one_minus_ned"] == pytest.approx((1 + 1 + 0.8 + 0.5 + 1) / 5)
    # predicted chars 5+5+5+2+3 = 20, true 5+5+5+4+3 = 22, matched 5+5+4+2+3 = 19
    assert r["char_precision"] == pytest.approx(19 / 20)
    assert r["char_recall"] == pytest.approx(19 / 22)


def test_empty_prediction_and_merge():
    a, b = RecognitionMetrics(), RecognitionMetrics()
    a.update("", "abc")
    b.update("abc", "abc")
    r = a.merge(b).result()
    assert r["word_accuracy"] == 0.5 and r["one_minus_ned"] == 0.5
    assert r["char_precision"] == 1.0 and r["char_recall"] == 0.5

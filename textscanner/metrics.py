"""Recognition metrics: word accuracy, exact word accuracy, 1-NED, character precision/recall.

Which strings are compared follows the model's charset (docs/evaluation.md):
- a Latin alphanumeric charset (it spells every digit and letter, and nothing beyond ASCII) is
  scored the way scene-text benchmarks report: prediction and label are lower-cased and
  everything but [0-9a-z] is dropped before comparison;
- any other charset (CJK, other scripts, custom sets) is scored by exact match after Unicode
  NFC and whitespace normalisation (runs of white space become one space, ends stripped).
The rule's name is part of every result, so a metrics file says how it was computed.
"""

from __future__ import annotations

import dataclasses
import re
import string
import unicodedata

from textscanner.charset import Charset

CASE_INSENSITIVE_ALPHANUMERIC = "case_insensitive_alphanumeric"
EXACT_WHITESPACE_NORMALIZED = "exact_whitespace_normalized"
WORD_RULES = (CASE_INSENSITIVE_ALPHANUMERIC, EXACT_WHITESPACE_NORMALIZED)

_NOT_ALNUM = re.compile(r"[^0-9a-z]")
_WHITESPACE = re.compile(r"\s+")
_ALNUM = set(string.digits + string.ascii_lowercase)


def word_rule(charset: Charset) -> str:
    """The comparison rule for a model with this charset (see the module docstring)."""
    spelled = {c.lower() for c in charset.chars}
    if _ALNUM <= spelled and all(c.isascii() for c in charset.chars):
        return CASE_INSENSITIVE_ALPHANUMERIC
    return EXACT_WHITESPACE_NORMALIZED


def normalize(text: str, rule: str) -> str:
    """`text` in the form that `rule` compares."""
    text = unicodedata.normalize("NFC", text)
    if rule == CASE_INSENSITIVE_ALPHANUMERIC:
        return _NOT_ALNUM.sub("", text.lower())
    if rule == EXACT_WHITESPACE_NORMALIZED:
        return _WHITESPACE.sub(" ", text).strip()
    raise ValueError(f"unknown word rule {rule!r}; choose one of {WORD_RULES}")


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def common_chars(a: str, b: str) -> int:
    """Characters matched in order (longest common subsequence)."""
    previous = [0] * (len(b) + 1)
    for ca in a:
        current = [0]
        for j, cb in enumerate(b, 1):
            current.append(previous[j - 1] + 1 if ca == cb else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


@dataclasses.dataclass
class RecognitionMetrics:
    """Accumulates predictions against labels under one word rule.

    Word accuracy, 1-NED and the character figures compare the normalised prediction with the
    normalised label. Exact word accuracy compares the prediction with the label as the
    charset spells it (`spelled`: NFC, and A-Z folded for a case-folding charset), nothing
    removed. `outside_charset` marks labels holding characters the charset lacks; they are
    scored like every other record and counted.
    """

    rule: str = CASE_INSENSITIVE_ALPHANUMERIC
    count: int = 0
    correct: int = 0
    exact_correct: int = 0
    outside_charset: int = 0
    ned_sum: float = 0.0
    matched_chars: int = 0
    predicted_chars: int = 0
    true_chars: int = 0

    @classmethod
    def for_charset(cls, charset: Charset) -> "RecognitionMetrics":
        return cls(rule=word_rule(charset))

    def update(self, prediction: str, truth: str, spelled: str | None = None,
               outside_charset: bool = False) -> bool:
        """Scores one record; returns whether the word counts as read."""
        prediction = unicodedata.normalize("NFC", prediction)
        spelled = unicodedata.normalize("NFC", truth if spelled is None else spelled)
        predicted, reference = normalize(prediction, self.rule), normalize(truth, self.rule)
        correct = predicted == reference
        self.count += 1
        self.correct += correct
        self.exact_correct += prediction == spelled
        self.outside_charset += outside_charset
        longest = max(len(predicted), len(reference))
        self.ned_sum += 1.0 - (edit_distance(predicted, reference) / longest if longest else 0)
        self.matched_chars += common_chars(predicted, reference)
        self.predicted_chars += len(predicted)
        self.true_chars += len(reference)
        return correct

    def merge(self, other: "RecognitionMetrics") -> "RecognitionMetrics":
        if other.rule != self.rule:
            raise ValueError(f"cannot pool metrics under rules {self.rule!r} and {other.rule!r}")
        counts = {f.name: getattr(self, f.name) + getattr(other, f.name)
                  for f in dataclasses.fields(self) if f.name != "rule"}
        return RecognitionMetrics(rule=self.rule, **counts)

    def result(self) -> dict[str, float | int | str]:
        n = max(self.count, 1)
        return {
            "num_samples": self.count,
            "word_accuracy": self.correct / n,
            "word_accuracy_exact": self.exact_correct / n,
            "one_minus_ned": self.ned_sum / n,
            "char_precision": self.matched_chars / max(self.predicted_chars, 1),
            "char_recall": self.matched_chars / max(self.true_chars, 1),
            "num_outside_charset": self.outside_charset,
            "word_rule": self.rule,
        }

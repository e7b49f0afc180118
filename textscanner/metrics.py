"""Recognition metrics (interfaces.md): word accuracy (academic and exact), 1-NED and
character precision/recall."""

from __future__ import annotations

import dataclasses
import re
import unicodedata

_NOT_ALNUM = re.compile(r"[^0-9a-z]")


def academic(text: str) -> str:
    """The benchmark convention: lower-case, then keep only [0-9a-z]."""
    return _NOT_ALNUM.sub("", text.lower())


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
    """Accumulates predictions against labels.

    `truth` is the label as stored (NFC); `truth_in_charset` is the same label as the model
    can spell it (e.g. lower-cased for alnum36). Word accuracy is case-insensitive over
    [0-9a-z] (the academic figure); exact accuracy compares with `truth` itself; 1-NED and
    the character figures compare with `truth_in_charset`.
    """

    count: int = 0
    academic_correct: int = 0
    exact_correct: int = 0
    ned_sum: float = 0.0
    matched_chars: int = 0
    predicted_chars: int = 0
    true_chars: int = 0

    def update(self, prediction: str, truth: str, truth_in_charset: str | None = None) -> bool:
        prediction = unicodedata.normalize("NFC", prediction)
        truth = unicodedata.normalize("NFC", truth)
        reference = truth if truth_in_charset is None else truth_in_charset
        self.count += 1
        correct = academic(prediction) == academic(truth)
        self.academic_correct += correct
        self.exact_correct += prediction == truth
        longest = max(len(prediction), len(reference))
        self.ned_sum += 1.0 - (edit_distance(prediction, reference) / longest if longest else 0)
        self.matched_chars += common_chars(prediction, reference)
        self.predicted_chars += len(prediction)
        self.true_chars += len(reference)
        return correct

    def merge(self, other: "RecognitionMetrics") -> "RecognitionMetrics":
        return RecognitionMetrics(*(getattr(self, f.name) + getattr(other, f.name)
                                    for f in dataclasses.fields(self)))

    def result(self) -> dict[str, float]:
        n = max(self.count, 1)
        return {
            "num_samples": self.count,
            "word_accuracy": self.academic_correct / n,
            "word_accuracy_exact": self.exact_correct / n,
            "one_minus_ned": self.ned_sum / n,
            "char_precision": self.matched_chars / max(self.predicted_chars, 1),
            "char_recall": self.matched_chars / max(self.true_chars, 1),
        }

"""Scoring a recognizer on TFRecord sets: metrics, speed and a sample table."""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import TYPE_CHECKING

import tensorflow as tf

from loops.recognizer import Recognizer

if TYPE_CHECKING:
    from loops.model_io import SavedModelReader
from pipelines.dataset import InputConfig, InputPipeline
from textscanner.charset import Charset
from textscanner.metrics import RecognitionMetrics

log = logging.getLogger(__name__)


@dataclasses.dataclass
class EvalResult:
    metrics: RecognitionMetrics
    seconds: float
    samples: list[tuple[str, str, float, bool]]  # truth, prediction, confidence, correct
    skipped: dict[str, int]

    def to_json(self) -> dict:
        out = self.metrics.result()
        out["images_per_second"] = out["num_samples"] / max(self.seconds, 1e-9)
        if self.skipped:
            out["skipped_records"] = self.skipped
        return out


def evaluate_dataset(recognizer: Recognizer | SavedModelReader, pattern: str, charset: Charset,
                     batch_size: int = 64, max_batches: int = 0, keep_aspect: bool = False,
                     num_samples_to_show: int = 10) -> EvalResult:
    """Reads every record of `pattern` once (or `max_batches` batches) with a Recognizer or
    an exported SavedModel (anything with `read_images`)."""
    pipeline = InputPipeline(InputConfig(pattern, global_batch_size=batch_size,
                                         is_training=False, keep_aspect=keep_aspect,
                                         deterministic=True), charset)
    dataset = pipeline()
    if max_batches:
        dataset = dataset.take(max_batches)
    metrics, samples = RecognitionMetrics(), []
    start = time.perf_counter()
    for batch in dataset:
        out = recognizer.read_images(batch["image"])
        predictions = [t.decode("utf-8") for t in out["text"].numpy()]
        for truth, prediction, confidence in zip(batch["text"].numpy(), predictions,
                                                 out["confidence"].numpy()):
            truth = truth.decode("utf-8")
            correct = metrics.update(prediction, truth, charset.prepare(truth))
            if len(samples) < num_samples_to_show:
                samples.append((truth, prediction, float(confidence), correct))
    return EvalResult(metrics, time.perf_counter() - start, samples, pipeline.skipped_counts())


def format_table(name: str, result: dict) -> str:
    keys = ("num_samples", "word_accuracy", "word_accuracy_exact", "one_minus_ned",
            "char_precision", "char_recall", "images_per_second")
    cells = [f"{result[k]:.4f}" if isinstance(result[k], float) else str(result[k])
             for k in keys]
    width = max(len(k) for k in keys)
    lines = [f"== {name}"] + [f"  {k:<{width}}  {c}" for k, c in zip(keys, cells)]
    return "\n".join(lines)


def format_samples(samples: list[tuple[str, str, float, bool]]) -> str:
    lines = ["  truth | prediction | confidence | correct"]
    lines += [f"  {t} | {p} | {c:.3f} | {'yes' if ok else 'NO'}" for t, p, c, ok in samples]
    return "\n".join(lines)


def combined(results: list[EvalResult]) -> dict:
    """Several sets' metrics as one: counts are pooled, so every figure is weighted by its
    own denominator (samples, or characters for precision and recall)."""
    metrics = RecognitionMetrics()
    for result in results:
        metrics = metrics.merge(result.metrics)
    return EvalResult(metrics, sum(r.seconds for r in results), [], {}).to_json()

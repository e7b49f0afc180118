"""Scoring a recognizer on TFRecord sets: metrics, speed, a sample table and, if asked,
every record's reading."""

from __future__ import annotations

import csv
import dataclasses
import logging
import time
from typing import IO, TYPE_CHECKING, Callable

from loops.recognizer import Recognizer

if TYPE_CHECKING:
    from loops.model_io import SavedModelReader
from pipelines.dataset import InputConfig, InputPipeline
from pipelines.shards import count_records
from textscanner.charset import Charset
from textscanner.metrics import RecognitionMetrics

log = logging.getLogger(__name__)


class IncompleteEvaluation(RuntimeError):
    """Fewer records were scored than the files hold."""


@dataclasses.dataclass(frozen=True)
class Reading:
    """One record as the recognizer read it."""

    source: str  # the record's source field: where convert or synth took it from
    truth: str  # the label as stored
    prediction: str
    confidence: float
    correct: bool  # under the charset's word rule (textscanner.metrics)


class ReadingsTable:
    """Every record's reading as tab-separated rows under a header (`evaluate
    --predictions_tsv`): set, source, label, prediction, confidence, correct (1 or 0).
    Fields holding tabs, quotes or line breaks are quoted as the csv module quotes them."""

    COLUMNS = ("set", "source", "label", "prediction", "confidence", "correct")

    def __init__(self, stream: IO[str]):
        self._writer = csv.writer(stream, delimiter="\t", lineterminator="\n")
        self._writer.writerow(self.COLUMNS)

    def writer_for(self, set_name: str) -> Callable[[Reading], None]:
        """A callback for `evaluate_dataset` that writes the readings of one set."""
        def write(reading: Reading) -> None:
            self._writer.writerow((set_name, reading.source, reading.truth, reading.prediction,
                                   f"{reading.confidence:.4f}", int(reading.correct)))
        return write


@dataclasses.dataclass
class EvalResult:
    metrics: RecognitionMetrics
    seconds: float
    samples: list[Reading]  # the first few, for a look

    def to_json(self) -> dict:
        out = self.metrics.result()
        out["images_per_second"] = out["num_samples"] / max(self.seconds, 1e-9)
        return out


def evaluate_dataset(recognizer: Recognizer | SavedModelReader, pattern: str, charset: Charset,
                     batch_size: int = 64, max_batches: int = 0, keep_aspect: bool = False,
                     num_samples_to_show: int = 10,
                     on_reading: Callable[[Reading], None] | None = None) -> EvalResult:
    """Scores every record of `pattern` once (or the first `max_batches` batches) with a
    Recognizer or an exported SavedModel (anything with `read_images`); `on_reading` is
    given each record's reading, in the files' order.

    Records whose text holds characters outside the charset are scored against the
    normalised text (textscanner.metrics) and counted. Raises IncompleteEvaluation if a
    whole pass scored fewer records than the files hold."""
    pipeline = InputPipeline(InputConfig(pattern, global_batch_size=batch_size,
                                         is_training=False, keep_aspect=keep_aspect,
                                         deterministic=True, keep_every_record=True,
                                         image_height=recognizer.input_size[0],
                                         image_width=recognizer.input_size[1]), charset)
    dataset = pipeline()
    if max_batches:
        dataset = dataset.take(max_batches)
    metrics, samples = RecognitionMetrics.for_charset(charset), []
    start = time.perf_counter()
    for batch in dataset:
        out = recognizer.read_images(batch["image"])
        predictions = [t.decode("utf-8") for t in out["text"].numpy()]
        for truth, outside, source, prediction, confidence in zip(
                batch["text"].numpy(), batch["outside_charset"].numpy(),
                batch["source"].numpy(), predictions, out["confidence"].numpy()):
            truth = truth.decode("utf-8")
            correct = metrics.update(prediction, truth, charset.prepare(truth), bool(outside))
            reading = Reading(source.decode("utf-8"), truth, prediction, float(confidence),
                              correct)
            if len(samples) < num_samples_to_show:
                samples.append(reading)
            if on_reading is not None:
                on_reading(reading)
    seconds = time.perf_counter() - start
    if not max_batches:
        held = count_records(pipeline.files)
        if metrics.count != held:
            raise IncompleteEvaluation(f"scored {metrics.count} records, but {pattern} holds "
                                       f"{held}")
    return EvalResult(metrics, seconds, samples)


def format_table(name: str, result: dict) -> str:
    keys = ("num_samples", "num_outside_charset", "word_accuracy", "word_accuracy_exact",
            "one_minus_ned", "char_precision", "char_recall", "images_per_second", "word_rule")
    cells = [f"{result[k]:.4f}" if isinstance(result[k], float) else str(result[k])
             for k in keys]
    width = max(len(k) for k in keys)
    lines = [f"== {name}"] + [f"  {k:<{width}}  {c}" for k, c in zip(keys, cells)]
    return "\n".join(lines)


def format_samples(samples: list[Reading]) -> str:
    lines = ["  truth | prediction | confidence | correct"]
    lines += [f"  {r.truth} | {r.prediction} | {r.confidence:.3f} | "
              f"{'yes' if r.correct else 'NO'}" for r in samples]
    return "\n".join(lines)


def combined(results: list[EvalResult]) -> dict:
    """Several sets' metrics as one: counts are pooled, so every figure is weighted by its
    own denominator (samples, or characters for precision and recall)."""
    metrics = results[0].metrics
    for result in results[1:]:
        metrics = metrics.merge(result.metrics)
    return EvalResult(metrics, sum(r.seconds for r in results), []).to_json()

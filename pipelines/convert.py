"""`convert`: labelled images (tsv, jsonl, LMDB, MJSynth, SynthText) to sharded TFRecords, in
parallel."""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from typing import Iterable, Protocol

from pipelines import schema
from pipelines.label_lines import DEFAULT_ENCODING
from pipelines.parallel import ordered_map
from pipelines.records import WordRecord
from pipelines.report import ConversionReport
from pipelines.shards import ShardedWriter
from pipelines.sources import read_items
from pipelines.stored_size import DEFAULT_MAX_HEIGHT
from pipelines.validation import (ValidationOptions, describe_item, init_worker,
                                  validate_or_error)
from textscanner.charset import load_charset
from textscanner.config import NUM_SLOTS

log = logging.getLogger(__name__)


@dataclasses.dataclass
class ConvertConfig:
    input_format: str
    input: str
    output: str  # prefix of the shards
    num_shards: int = 4
    charset: str | None = "alnum36"  # None: accept any characters
    image_root: str | None = None
    strict: bool = False
    num_workers: int = 0  # 0: one per CPU core
    max_length: int = NUM_SLOTS
    # Keep records whose text the charset cannot spell fully (characters outside it, too
    # long): evaluation scores them against the normalised text. Training sets reject them,
    # but for `unread_symbols`.
    evaluation_set: bool = False
    # Training labels lose the punctuation and symbols the charset lacks (and their boxes)
    # instead of the record being rejected: as `synth` draws them, and as benchmarks label.
    unread_symbols: bool = True
    # Larger images are stored shrunk to what training can use (pipelines/stored_size.py);
    # 0 keeps every image at its size.
    max_image_height: int = DEFAULT_MAX_HEIGHT
    label_encoding: str = DEFAULT_ENCODING  # of text labels (sources.TEXT_LABEL_FORMATS)
    subset: str | None = None  # the set to read of a file that holds several (COCO-Text)


def write_records(results: Iterable[WordRecord | tuple[str, str, str]], output: str,
                  num_shards: int, report: ConversionReport) -> ConversionReport:
    """Writes valid records atomically into shards; counts the rejected ones in `report`."""
    with ShardedWriter(output, num_shards) as writer:
        for result in results:
            if isinstance(result, WordRecord):
                writer.write(schema.serialize(result))
                report.relabelled += bool(result.unread)
                report.without_boxes += result.char_boxes is None
                report.turned_upright += result.turned_upright
                report.shrunk += result.shrunk
            else:
                report.add_error(*result)
        report.written = writer.count
    report.shards = writer.paths
    return report


class WordOnlyBoxer(Protocol):
    """Gives word-only records character boxes on their way to the shards, in order, and
    counts them (`loops/pseudo_labeller.py`)."""

    filled: int
    left_word_only: int

    def fill(self, results: Iterable) -> Iterable: ...


def convert(config: ConvertConfig, boxer: WordOnlyBoxer | None = None) -> ConversionReport:
    """Runs a conversion; the report is also saved as `OUTPUT.report.json`. A `boxer` sees
    the validated records in this process, whatever the number of workers."""
    if config.charset:
        load_charset(config.charset)  # fail early on a bad charset spec
    workers = config.num_workers or os.cpu_count() or 1
    start = time.perf_counter()
    items = read_items(config.input_format, config.input, config.image_root,
                       config.label_encoding, config.subset)
    options = ValidationOptions(config.charset, config.max_length, config.evaluation_set,
                                config.unread_symbols, config.max_image_height)
    results = ordered_map(validate_or_error, items, workers, init_worker, (options,),
                          describe=describe_item)
    if boxer is not None:
        results = boxer.fill(results)
    report = write_records(results, config.output, config.num_shards, ConversionReport())
    if boxer is not None:
        report.pseudo_boxed, report.left_word_only = boxer.filled, boxer.left_word_only
    seconds = time.perf_counter() - start
    report_path = f"{config.output}.report.json"
    report.save(report_path)
    total = report.written + len(report.errors)
    log.info("%s in %.1f s (%.0f samples/s); report: %s", report.summary(), seconds,
             total / max(seconds, 1e-9), report_path)
    if boxer is None and report.without_boxes and not config.evaluation_set:
        # Word-only crops train the class map only (mutual supervision); boxes drawn by a
        # trained model also train where the characters are (BUILD.md, "Equal shares").
        log.warning("%d of the %d records have no character boxes and train through mutual "
                    "supervision only; --pseudo_boxes_from=pretrained:NAME (or a model folder "
                    "that reads this charset) gives them boxes", report.without_boxes,
                    report.written)
    return report


def exit_code(report: ConversionReport, strict: bool) -> int:
    """Non-zero when nothing was written and something failed, or on any error with strict."""
    if report.errors and (strict or report.written == 0):
        return 1
    if report.written == 0:
        return 1
    return 0

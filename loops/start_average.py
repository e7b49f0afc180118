"""A finished run's weights averaged with the weights it started from (robust fine-tuning by
weight interpolation, Wortsman et al. 2022): a run that continues another lies in the same
basin of the loss, and a weighted mean of the two keeps most of what the start read of other
words while reading the words the run trained for as well as the run alone (BUILD.md,
"Averaging with the start", "Pseudo-boxes of the true size").

`train` records where a run started (`START_FILE`) and, when the run ends without a stop
request, writes the average as a weights-only model folder, `AVERAGE_DIR`, beside the checkpoints;
`model_io.recognizer_from_checkpoint` reads it while it was made from the newest checkpoint.
"""

from __future__ import annotations

import json
import logging
import os

import tensorflow as tf

from loops.checkpoints import weights_digest
from loops.options import DEFAULT_START_SHARE
from textscanner import storage

log = logging.getLogger(__name__)

# {"source": what the run's weights were restored from, "digest": those weights' digest}
START_FILE = "warm_start.json"
AVERAGE_DIR = "average_with_start"
# {"checkpoint": the run's checkpoint, "start": source, "start_share": the start's weight}
MADE_FROM_FILE = "made_from.json"


def _read_json(path: str) -> dict | None:
    if not storage.isfile(path):
        return None
    with storage.open_file(path, encoding="utf-8") as f:
        return json.load(f)


def _write_json(path: str, value: dict) -> None:
    with storage.open_file(path, "w", encoding="utf-8") as f:
        json.dump(value, f)


def record_start(model_dir: str, source: str, model: tf.keras.Model) -> None:
    """Remembers the weights a run started from (`model`'s, just restored from `source`), so
    that a resumed run still knows them and can tell when `source` has changed since."""
    _write_json(os.path.join(model_dir, START_FILE),
                {"source": source, "digest": weights_digest(model)})


def recorded_start(model_dir: str) -> dict | None:
    """What `record_start` wrote ({"source", "digest"}; older runs: no digest), or None."""
    return _read_json(os.path.join(model_dir, START_FILE))


def current_average(model_dir: str, start_share: float | None = None) -> str | None:
    """model_dir's average with its start, if it was made from model_dir's newest checkpoint
    (a run trained further has a newer one: then the run itself is read), and with
    `start_share` when one is given (averages written before the share was recorded: 0.5)."""
    made_from = _read_json(os.path.join(model_dir, AVERAGE_DIR, MADE_FROM_FILE))
    latest = tf.train.latest_checkpoint(model_dir)
    if made_from is None or latest is None:
        return None
    if made_from["checkpoint"] != os.path.basename(latest):
        return None
    if start_share is not None and made_from.get("start_share", 0.5) != start_share:
        return None
    return os.path.join(model_dir, AVERAGE_DIR)


def write_average(model_dir: str, start_share: float = DEFAULT_START_SHARE) -> str | None:
    """Writes the weighted mean of model_dir's newest checkpoint and the weights the run
    started from (batch-norm statistics included; the start's weight `start_share`) to
    model_dir/AVERAGE_DIR; None for a run that started from scratch, or whose start now holds
    other weights than those it started from."""
    from loops import pretrained
    from loops.model_io import export_weights, recognizer_from_checkpoint
    from loops.model_soup import average_with
    start = recorded_start(model_dir)
    latest = tf.train.latest_checkpoint(model_dir)
    if start is None or latest is None:
        return None
    source = start["source"]
    start_model = recognizer_from_checkpoint(pretrained.resolve(source))
    if start.get("digest") not in (None, weights_digest(start_model.model)):
        # Averaging with other weights than the run started from (a shipped model updated,
        # a start folder trained further while this run was stopped) would mix two basins.
        log.warning("not averaging %s with its start: %s holds other weights than the run "
                    "started from (changed since); the folder is read as the run alone",
                    model_dir, source)
        return None
    recognizer = recognizer_from_checkpoint(model_dir, checkpoint=latest)
    average_with(recognizer, [start_model], names=[source],
                 shares=[1.0 - start_share, start_share])
    folder = os.path.join(model_dir, AVERAGE_DIR)
    export_weights(recognizer, folder)
    _write_json(os.path.join(folder, MADE_FROM_FILE), {
        "checkpoint": os.path.basename(latest), "start": source, "start_share": start_share})
    log.info("wrote %s: the mean of %s and %s, the weights the run started from, weighted "
             "%g:%g (what evaluate, predict and export read; --noaverage_with_start: the run "
             "alone)", folder, os.path.basename(latest), source, 1.0 - start_share, start_share)
    return folder

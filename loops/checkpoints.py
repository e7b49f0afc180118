"""Checkpoints that restore exactly, or fail loudly.

`tf.train.Checkpoint` restores Keras 3 variables only if they exist when `restore` runs:
the model must have been called once and the optimizer built, otherwise variables silently
keep their initial values (tf-notes.md). `TrainingCheckpoint.restore_latest` therefore
requires both and asserts that every object was matched.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import threading

import tensorflow as tf

log = logging.getLogger(__name__)


class TrainingCheckpoint:
    """Model, optimizer, step and input position, saved under `model_dir`.

    In a multi-worker cluster every worker must call `save` (the variables are mirrored and
    saving synchronises); non-chief workers write to a scratch folder that is then removed.
    """

    def __init__(self, model_dir: str, chief: bool, worker_id: int, max_to_keep: int = 3,
                 **objects):
        self.chief = chief
        self.model_dir = model_dir
        self.checkpoint = tf.train.Checkpoint(**objects)
        self.directory = model_dir if chief else os.path.join(
            model_dir, f".worker{worker_id}_scratch")
        self.manager = tf.train.CheckpointManager(self.checkpoint, self.directory,
                                                  max_to_keep=max_to_keep)

    @property
    def latest(self) -> str | None:
        return self.manager.latest_checkpoint

    def restore_latest(self) -> str | None:
        """Restores the newest checkpoint in model_dir, if any, asserting a full match."""
        path = tf.train.latest_checkpoint(self.model_dir)
        if path is None:
            return None
        status = self.checkpoint.restore(path)
        status.assert_existing_objects_matched()
        log.info("restored %s", path)
        return path

    def save(self, step: int) -> str:
        path = self.manager.save(checkpoint_number=step)
        if not self.chief:
            shutil.rmtree(self.directory, ignore_errors=True)
        return path


def restore_weights_only(model, path: str) -> str:
    """Warm start: model weights from a training checkpoint (file or folder), nothing else."""
    if os.path.isdir(path):
        found = tf.train.latest_checkpoint(path)
        if found is None:
            raise FileNotFoundError(f"no checkpoint in {path}")
        path = found
    status = tf.train.Checkpoint(model=model).restore(path)
    status.expect_partial()
    status.assert_existing_objects_matched()
    return path


class StopRequest:
    """Set by SIGTERM/SIGINT: the loop saves a checkpoint and exits cleanly."""

    def __init__(self):
        self.event = threading.Event()
        self._previous = {}

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        log.warning("received signal %d: saving a checkpoint and stopping", signum)
        self.event.set()

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def __bool__(self) -> bool:
        return self.event.is_set()

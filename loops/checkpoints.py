"""Checkpoints that restore exactly, or fail loudly.

Two silent failures of Keras 3 + tf.train.Checkpoint are guarded against here:
- variables restore only if they exist when `restore` runs (the model called once, the
  optimizer built: docs/tf-notes.md);
- Keras 3 layers do not expose their *trainable* variables as checkpoint dependencies: a
  checkpoint reaches them only through the optimizer, so a model-only restore matches
  nothing, and `assert_existing_objects_matched` cannot notice (the variables are not
  reachable from the model). `ModelWeights` lists every model variable explicitly.
Every restore fills the variables with NaN first and checks afterwards that the checkpoint
replaced all of them.
"""

from __future__ import annotations

import hashlib
import logging
import os

import tensorflow as tf

from textscanner import storage

log = logging.getLogger(__name__)


class OrderedVariables(tf.Module):
    """Variables as checkpoint dependencies `ordered/0`, `ordered/1`, ... in list order."""

    def __init__(self, variables, name: str = "ordered_variables"):
        super().__init__(name=name)
        self.ordered = list(variables)


class ModelWeights(OrderedVariables):
    """All variables of a Keras model, in creation order, as checkpoint dependencies."""

    def __init__(self, model):
        super().__init__(model.weights, name="model_weights")


def restore_verified(checkpoint: tf.train.Checkpoint, path: str, variables: list,
                     partial: bool = False) -> None:
    """Restores `path` and raises unless every float variable in `variables` got a value."""
    floats = [v for v in variables if tf.as_dtype(v.dtype).is_floating]
    for v in floats:
        v.assign(tf.fill(v.shape, tf.constant(float("nan"), v.dtype)))
    status = checkpoint.restore(path)
    if partial:
        status.expect_partial()
    try:
        status.assert_existing_objects_matched()
    except AssertionError as e:
        reason = str(e).split(":")[0]
        raise ValueError(f"checkpoint {path} did not restore every variable: {reason} "
                         f"(a checkpoint of another model, or of an older version?)") from None
    missing = [getattr(v, "path", v.name) for v in floats
               if bool(tf.reduce_any(tf.math.is_nan(v)))]
    if missing:
        raise ValueError(f"checkpoint {path} did not restore {len(missing)} of {len(floats)} "
                         f"variables (or holds NaN for them), e.g. {missing[:5]}")


class TrainingCheckpoint:
    """Model, optimizer, step and input position, saved under `model_dir`.

    In a multi-worker cluster every worker must call `save` (the variables are mirrored and
    saving synchronises); non-chief workers write to a scratch folder that is then removed.
    """

    def __init__(self, model_dir: str, chief: bool, worker_id: int, model, optimizer,
                 max_to_keep: int = 3, **objects):
        self.chief = chief
        self.model_dir = model_dir
        self.variables = list(model.weights) + list(optimizer.variables)
        for obj in objects.values():  # e.g. a WeightAverage: verified like the rest
            if isinstance(obj, tf.Module):
                self.variables += list(obj.variables)
        self.checkpoint = tf.train.Checkpoint(model=model, model_weights=ModelWeights(model),
                                              optimizer=optimizer, **objects)
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
        restore_verified(self.checkpoint, path, self.variables)
        log.info("restored %s", path)
        return path

    def save(self, step: int) -> str:
        path = self.manager.save(checkpoint_number=step)
        if not self.chief:
            storage.rmtree(self.directory)
        return path


AVERAGE = "average"  # the checkpoint key of a WeightAverage (loops/averaging.py)


def has_weight_average(path: str) -> bool:
    """True if the checkpoint file `path` holds a WeightAverage. (Read by file name:
    `tf.train.list_variables` first asks whether the path is a folder, which ram:// answers
    yes for any prefix of a file's name.)"""
    names = tf.compat.v1.train.NewCheckpointReader(path).get_variable_to_shape_map()
    return any(name.startswith(AVERAGE + "/") for name in names)


def save_weights_only(model, folder: str) -> str:
    """The model's weights alone as checkpoint `folder/weights-1`; returns its path."""
    checkpoint = tf.train.Checkpoint(model=model, model_weights=ModelWeights(model))
    return tf.train.CheckpointManager(checkpoint, folder, max_to_keep=1,
                                      checkpoint_name="weights").save(checkpoint_number=1)


def restore_weights_only(model, path: str) -> str:
    """Model weights from a training checkpoint (file or folder), nothing else: for
    evaluation, prediction, export and warm starts. Where training kept an exponential
    moving average of the weights, the trainable weights are the averaged ones."""
    found = tf.train.latest_checkpoint(path) if storage.isdir(path) else None
    if found is None and not storage.exists(path + ".index"):
        raise FileNotFoundError(f"no checkpoint in {path}")
    path = found or path
    checkpoint = tf.train.Checkpoint(model=model, model_weights=ModelWeights(model))
    restore_verified(checkpoint, path, model.weights, partial=True)
    if has_weight_average(path):
        average = OrderedVariables(model.trainable_variables)
        restore_verified(tf.train.Checkpoint(**{AVERAGE: average}), path,
                         model.trainable_variables, partial=True)
    return path


def weights_digest(model: tf.keras.Model) -> str:
    """A short digest of the model's weights (batch-norm statistics included): every worker
    of a run holds them alike, and the same weights read from any file give the same one."""
    digest = hashlib.sha256()
    for variable in model.weights:
        digest.update(variable.numpy().tobytes())
    return digest.hexdigest()[:16]

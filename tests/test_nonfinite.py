"""A step whose loss or gradient is not finite is skipped on every replica (weights, optimizer
state and batch-norm statistics untouched), counted, and too many in a row stop the run with
its last checkpoint intact. (A NaN on one of two replicas: test_mirrored.py.)"""

import os

import numpy as np
import pytest
import tensorflow as tf

from pipelines.tfdata_options import without_autotuning
from tests.cli import synth_words
from textscanner.config import ModelConfig

SMALL_MODEL = ModelConfig(input_height=32, input_width=128)


@pytest.fixture(scope="module")
def words(tmp_path_factory):
    return synth_words(tmp_path_factory.mktemp("words"), "w", 16, 1, 4)


def _state(runner):
    return [v.numpy().copy() for v in runner.model.variables + runner.optimizer.variables]


def _nan(batch, images=slice(None)):
    """`batch` with NaN in the `images` of it."""
    image = batch["image"]
    poisoned = tf.tensor_scatter_nd_update(
        image, tf.range(image.shape[0])[images][:, None],
        tf.fill(tf.shape(image[images]), float("nan")))
    return {**batch, "image": poisoned}


def _sequence(batch, poisoned_steps, images=slice(None)):
    """A dataset of `batch`, NaN at the given step indices: one iterator, one trace."""
    nan_batch = _nan(batch, images)
    return without_autotuning(tf.data.Dataset.from_tensors(batch).repeat().enumerate().map(
        lambda i, b: tf.cond(tf.reduce_any(tf.equal(i, tf.constant(poisoned_steps, tf.int64))),
                             lambda: nan_batch, lambda: b)))


def test_a_nan_batch_is_skipped_and_counted_then_training_goes_on(tmp_path, words):
    from loops.config import TrainConfig
    from loops.trainer import Trainer
    runner = Trainer(TrainConfig(model_dir=str(tmp_path), train_data=words, batch_size=4,
                                 model=SMALL_MODEL, augment=None)).runner
    batches = iter(_sequence(next(runner.iterator), [1, 2]))
    runner.train_on(batches, 1)  # a real step first: the slots exist
    before = _state(runner)
    metrics = runner.train_on(batches, 2)
    assert metrics["nonfinite_steps"] == 2 and int(runner.nonfinite_in_a_row.numpy()) == 2
    for got, want in zip(_state(runner), before):
        np.testing.assert_array_equal(got, want)  # iterations and BN statistics too
    metrics = runner.train_on(batches, 1)
    assert metrics["nonfinite_steps"] == 0 and np.isfinite(metrics["loss"])
    assert int(runner.nonfinite_in_a_row.numpy()) == 0
    assert any(not np.array_equal(g, w) for g, w in zip(_state(runner), before))
    assert runner.num_traces == 1


def test_too_many_in_a_row_stop_the_run_and_keep_the_last_checkpoint(tmp_path, words):
    from loops.config import TrainConfig
    from loops.controller import TrainingDiverged
    from loops.trainer import Trainer
    trainer = Trainer(TrainConfig(
        model_dir=str(tmp_path), train_data=words, batch_size=4, model=SMALL_MODEL,
        augment=None, train_steps=20, steps_per_loop=2, checkpoint_every=2,
        image_summary_every=0, max_nonfinite_steps=3))
    runner = trainer.runner
    # Steps 1-4 read a good batch, every later step a NaN one.
    runner.iterator = iter(_sequence(next(runner.iterator), list(range(4, 1000))))
    with pytest.raises(TrainingDiverged, match=r"steps 5-7: 3 steps in a row .*ckpt-6"):
        trainer.train()
    # The checkpoint of step 6 fell inside the streak: skipped steps changed nothing, so it
    # holds the weights of step 4; nothing was saved when the run stopped.
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("ckpt-6")
    before, after = (tf.train.load_checkpoint(f"{tmp_path}/ckpt-{step}") for step in (4, 6))
    names = [n for n in before.get_variable_to_shape_map() if n.startswith("model/")]
    assert names
    for name in names:
        np.testing.assert_array_equal(after.get_tensor(name), before.get_tensor(name), name)
    trainer.controller.summaries.train.flush()
    folder = os.path.join(str(tmp_path), "train")
    logged = {(event.step, value.tag) for name in os.listdir(folder)
              for event in tf.compat.v1.train.summary_iterator(os.path.join(folder, name))
              for value in event.summary.value}
    assert {(6, "nonfinite_steps"), (7, "nonfinite_steps")} <= logged

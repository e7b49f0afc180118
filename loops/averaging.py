"""An exponential moving average (EMA) of the trainable weights.

Training updates the raw weights; evaluation, prediction and export read the averaged
ones, which are smoother than the weights of any single step. The averages live in the
training checkpoint under `average/`; `checkpoints.restore_weights_only` prefers them.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Sequence

import keras
import tensorflow as tf


def _tf_variable(variable):
    """The tf.Variable (or distributed variable) behind a Keras 3 variable."""
    return variable.value if isinstance(variable, keras.Variable) else variable


class WeightAverage(tf.Module):
    """average = d * average + (1 - d) * weight after every step, with the decay ramped up
    as d = min(decay, (1 + step) / (10 + step)) so that early averages are not dominated
    by the random initialisation (tf.train.ExponentialMovingAverage's num_updates)."""

    def __init__(self, variables: Sequence, decay: float):
        super().__init__(name="weight_average")
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        self.decay = decay
        self._weights = [_tf_variable(v) for v in variables]
        # Created under the strategy scope by the caller, so mirrored like the weights.
        self.ordered = [tf.Variable(w.read_value(), trainable=False,
                                    name=w.name.split(":")[0].replace("/", "_") + "_average")
                        for w in self._weights]

    def update(self, strategy: tf.distribute.Strategy, step: tf.Tensor) -> None:
        """Call in cross-replica context (the train loop), after the optimizer step."""
        step = tf.cast(step, tf.float32)
        decay = tf.minimum(self.decay, (1.0 + step) / (10.0 + step))

        def blend(average, weight):
            return average.assign(decay * average + (1.0 - decay) * weight)

        for average, weight in zip(self.ordered, self._weights):
            strategy.extended.update(average, blend, args=(weight,))

    @contextlib.contextmanager
    def applied(self) -> Iterator[None]:
        """Swaps the averages into the weights for the duration of the block (eager)."""
        saved = [tf.identity(w) for w in self._weights]
        for w, average in zip(self._weights, self.ordered):
            w.assign(average)
        try:
            yield
        finally:
            for w, value in zip(self._weights, saved):
                w.assign(value)

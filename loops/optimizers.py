"""Adam (or AdamW) with warm-up and step decay, loss-scaled for float16."""

from __future__ import annotations

import keras
import tensorflow as tf

from loops.config import OptimizerConfig


@keras.saving.register_keras_serializable("textscanner")
class WarmupStepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to `rate`, then multiplied by `factor` at each step in `boundaries`."""

    def __init__(self, rate: float, boundaries: tuple[int, ...] = (), factor: float = 0.1,
                 warmup_steps: int = 0):
        self.rate, self.boundaries, self.factor, self.warmup_steps = \
            rate, tuple(int(b) for b in boundaries), factor, int(warmup_steps)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        decays = tf.add_n([tf.cast(step >= b, tf.float32) for b in self.boundaries]) \
            if self.boundaries else 0.0
        rate = self.rate * tf.pow(self.factor, decays)
        if self.warmup_steps:
            rate *= tf.minimum(1.0, (step + 1.0) / self.warmup_steps)
        return rate

    def get_config(self):
        return {"rate": self.rate, "boundaries": self.boundaries, "factor": self.factor,
                "warmup_steps": self.warmup_steps}


def make_optimizer(config: OptimizerConfig, precision: str) -> keras.optimizers.Optimizer:
    """Global-norm clipping is done by the train step on the all-reduced gradient (Keras
    would clip each replica's partial gradient), so it is not set here."""
    schedule = WarmupStepDecay(config.learning_rate, config.decay_steps, config.decay_factor,
                               config.warmup_steps)
    if config.weight_decay:
        optimizer = keras.optimizers.AdamW(schedule, weight_decay=config.weight_decay)
    else:
        optimizer = keras.optimizers.Adam(schedule)
    if precision == "float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def current_learning_rate(optimizer: keras.optimizers.Optimizer) -> tf.Tensor:
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    return inner.learning_rate


def loss_scale(optimizer: keras.optimizers.Optimizer) -> tf.Tensor:
    scale = getattr(optimizer, "dynamic_scale", None)
    return tf.convert_to_tensor(1.0) if scale is None else tf.convert_to_tensor(scale)

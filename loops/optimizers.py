"""Adam (or AdamW, both with fused updates) with warm-up and step or cosine decay,
loss-scaled for float16."""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from loops.config import OptimizerConfig
from loops.fused_adam import FusedAdam, FusedAdamW


@keras.saving.register_keras_serializable("textscanner")
class WarmupStepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to `rate`, then multiplied by `factor` at each decay point.

    Decay points are steps (`boundaries`), or fractions of `total_steps` (`fractions`), a
    variable that the trainer may set once it knows how many steps its time budget allows,
    so that a run stopped by its budget has still finished its schedule.
    """

    def __init__(self, rate: float, boundaries: tuple[int, ...] = (), factor: float = 0.1,
                 warmup_steps: int = 0, fractions: tuple[float, ...] = (),
                 total_steps: tf.Variable | None = None):
        if fractions and total_steps is None:
            raise ValueError("decay fractions need the total number of steps")
        self.rate, self.boundaries, self.factor, self.warmup_steps = \
            rate, tuple(int(b) for b in boundaries), factor, int(warmup_steps)
        self.fractions, self.total_steps = tuple(float(f) for f in fractions), total_steps

    def decay_points(self) -> list[tf.Tensor]:
        """The steps at which the rate decays (floats; fractions follow `total_steps`)."""
        if self.boundaries:
            return [tf.constant(float(b)) for b in self.boundaries]
        total = tf.cast(tf.convert_to_tensor(self.total_steps), tf.float32) \
            if self.fractions else None
        return [tf.round(f * total) for f in self.fractions]

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        points = self.decay_points()
        decays = tf.add_n([tf.cast(step >= b, tf.float32) for b in points]) if points else 0.0
        return _warmup(self.rate * tf.pow(self.factor, decays), step, self.warmup_steps)

    def get_config(self):
        return {"rate": self.rate, "boundaries": self.boundaries, "factor": self.factor,
                "warmup_steps": self.warmup_steps, "fractions": self.fractions,
                "total_steps": _value(self.total_steps)}


class WarmupCosineDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to `rate`, then a half cosine down to `final_fraction * rate` at
    `total_steps` (a variable: the trainer sets it to what its time budget allows)."""

    def __init__(self, rate: float, total_steps: tf.Variable, warmup_steps: int = 0,
                 final_fraction: float = 0.0):
        self.rate, self.total_steps, self.warmup_steps, self.final_fraction = \
            rate, total_steps, int(warmup_steps), float(final_fraction)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        total = tf.cast(tf.convert_to_tensor(self.total_steps), tf.float32)
        span = tf.maximum(total - self.warmup_steps, 1.0)
        progress = tf.clip_by_value((step - self.warmup_steps) / span, 0.0, 1.0)
        cosine = 0.5 * (1.0 + tf.cos(math.pi * progress))
        rate = self.rate * (self.final_fraction + (1.0 - self.final_fraction) * cosine)
        return _warmup(rate, step, self.warmup_steps)

    def get_config(self):
        return {"rate": self.rate, "total_steps": _value(self.total_steps),
                "warmup_steps": self.warmup_steps, "final_fraction": self.final_fraction}


def _warmup(rate: tf.Tensor, step: tf.Tensor, warmup_steps: int) -> tf.Tensor:
    if warmup_steps:
        rate *= tf.minimum(1.0, (step + 1.0) / warmup_steps)
    return rate


def _value(variable: tf.Variable | None) -> int | None:
    return None if variable is None else int(variable.numpy())


def make_optimizer(config: OptimizerConfig, precision: str,
                   total_steps: tf.Variable | None = None) -> keras.optimizers.Optimizer:
    """Adam(W) on the config's schedule; `total_steps` places the fractional decays.

    Global-norm clipping is done by the train step on the all-reduced gradient (Keras
    would clip each replica's partial gradient), so it is not set here."""
    if config.schedule == "cosine":
        if total_steps is None:
            raise ValueError("the cosine schedule needs the total number of steps")
        schedule = WarmupCosineDecay(config.learning_rate, total_steps, config.warmup_steps)
    else:
        fractions = () if config.decay_steps else config.decay_fractions
        schedule = WarmupStepDecay(config.learning_rate, config.decay_steps,
                                   config.decay_factor, config.warmup_steps, fractions,
                                   total_steps)
    if config.weight_decay:
        optimizer = FusedAdamW(schedule, weight_decay=config.weight_decay)
    else:
        optimizer = FusedAdam(schedule)
    if precision == "float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def current_learning_rate(optimizer: keras.optimizers.Optimizer) -> tf.Tensor:
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    return inner.learning_rate


def loss_scale(optimizer: keras.optimizers.Optimizer) -> tf.Tensor:
    scale = getattr(optimizer, "dynamic_scale", None)
    return tf.convert_to_tensor(1.0) if scale is None else tf.convert_to_tensor(scale)


def apply_if_finite(optimizer: keras.optimizers.Optimizer, grads: list[tf.Tensor],
                    variables: list[tf.Variable], finite: tf.Tensor) -> None:
    """Applies `grads` when `finite` (a scalar bool, the same on every replica), else leaves
    the weights, the optimizer's slots and its step count untouched. Called in a replica
    context. A loss-scaled optimizer already skips non-finite steps (and lowers its scale):
    it applies whatever it is given.

    The condition is taken in a cross-replica context where the strategy needs one (as Keras'
    LossScaleOptimizer does): a cond in a replica context cannot hold the merge_call that
    `apply_gradients` makes under MirroredStrategy."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        optimizer.apply_gradients(zip(grads, variables))
        return

    def apply(grads: list[tf.Tensor]) -> None:
        optimizer.apply_gradients(zip(grads, variables))

    if tf.__internal__.distribute.strategy_supports_no_merge_call():
        tf.cond(finite, lambda: apply(grads), lambda: None)
        return

    def cross_replica(distribution: tf.distribute.Strategy, grads, finite) -> None:
        finite = distribution.experimental_local_results(finite)[0]
        tf.cond(finite,
                lambda: distribution.extended.call_for_each_replica(apply, args=(grads,)),
                lambda: None)

    tf.distribute.get_replica_context().merge_call(cross_replica, args=(grads, finite))

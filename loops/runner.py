"""The train runner: the model, optimizer and input of a run, built under a strategy, and the
compiled many-steps loop. Its one job is `train(num_steps) -> metrics`; when to save, log,
evaluate or stop is the controller's (`loops/controller.py`)."""

from __future__ import annotations

import logging
from typing import Iterator

import tensorflow as tf

from loops.averaging import WeightAverage
from loops.config import TrainConfig
from loops.optimizers import apply_if_finite, current_learning_rate, loss_scale, make_optimizer
from pipelines.dataset import InputConfig, InputPipeline
from textscanner.charset import load_charset
from textscanner.losses import total_loss
from textscanner.model import TextScanner

log = logging.getLogger(__name__)

LOSS_TERMS = ("loss", "class_loss", "order_loss", "loc_loss", "mutual_loss")
LOGGED = LOSS_TERMS + ("grad_norm",)


class TrainRunner:
    """Builds what a run trains under `strategy`; `train(n)` runs n compiled steps."""

    def __init__(self, config: TrainConfig, strategy: tf.distribute.Strategy):
        self.config = config
        self.strategy = strategy
        self.charset = load_charset(config.charset)
        with strategy.scope():
            self.model = TextScanner(config.model_config(self.charset.num_classes))
            self.model.build_for_input()
            # The steps the run will train: its --train_steps, or fewer when its time budget
            # allows fewer (the controller decides). The learning-rate decays sit at
            # fractions of it.
            self.planned_steps = tf.Variable(
                config.train_steps, dtype=tf.int64, trainable=False, name="planned_steps",
                aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
            self.optimizer = make_optimizer(config.optimizer, config.runtime.mixed_precision,
                                            self.planned_steps)
            # Inside the scope and before the first step (docs/tf-notes.md).
            self.optimizer.build(self.model.trainable_variables)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step",
                                    aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
            self.average = WeightAverage(self.model.trainable_variables, config.ema_decay) \
                if config.ema_decay else None
            # Steps in a row whose loss or gradient was not finite (and were skipped).
            self.nonfinite_in_a_row = tf.Variable(
                0, dtype=tf.int64, trainable=False, name="nonfinite_in_a_row",
                aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        # Set from any thread (loops/stop_request.py); read by the loop after every step. Not
        # a distributed variable: each worker has its own, and the loop sums them.
        self.stop_flag = tf.Variable(0.0, trainable=False, name="stop_flag")
        self.reset_input(config.runtime.seed)
        replica_step = self._replica_step
        if config.runtime.jit_compile:
            replica_step = tf.function(replica_step, jit_compile=True, autograph=False)
        self._compiled_replica_step = replica_step
        # The step branches with tf.cond, never with Python on tensors, so AutoGraph's
        # source-to-source conversion of it (and of all it calls) is skipped. The loop
        # needs it: a tf.range loop with breaks.
        self._unconverted_step = tf.autograph.experimental.do_not_convert(
            self._replica_step_and_stop_flag)
        self._loop = tf.function(self._train_loop)

    # -- public API -----------------------------------------------------------------------------
    def train(self, num_steps: int) -> dict[str, float]:
        """Runs `num_steps` steps on the run's input, or fewer if `max_nonfinite_steps` steps
        in a row are skipped or a stop is requested (`request_stop`, on any worker); returns,
        once the steps have finished, the mean of each logged value over the steps that were
        applied, `nonfinite_steps`, the number skipped because their loss or gradient was not
        finite, and `stop_requested` (1.0 or 0.0)."""
        return self.train_on(self.iterator, num_steps)

    def train_on(self, batches: Iterator, num_steps: int) -> dict[str, float]:
        """`train` on another source of distributed batches (benchmarks feed one batch)."""
        metrics = self._loop(batches, tf.constant(num_steps))
        return {name: float(value) for name, value in metrics.items()}  # waits for the steps

    def request_stop(self) -> None:
        """Makes the running loop (or the next one) stop after its current step, on every
        worker: safe to call from any thread."""
        self.stop_flag.assign(1.0)

    def reset_input(self, seed: int) -> None:
        """A new input order, seeded by `seed`."""
        self.pipeline = InputPipeline(InputConfig.for_model(
            self.model.config, self.config.train_data,
            source_weights=self.config.train_data_weights,
            share_rule=self.config.train_data_shares,
            global_batch_size=self.config.batch_size, is_training=True,
            augment=self.config.augment, keep_aspect=self.config.keep_aspect,
            unread_symbols=self.config.unread_symbols,
            deterministic=self.config.deterministic, seed=seed), self.charset)
        self.dataset = self.strategy.distribute_datasets_from_function(self.pipeline)
        self.iterator = iter(self.dataset)

    @property
    def input_position_is_checkpointable(self) -> bool:
        """TF 2.21 can checkpoint a single-replica input iterator but not a multi-replica
        DistributedIterator (docs/tf-notes.md)."""
        return isinstance(self.iterator, tf.__internal__.tracking.Trackable)

    @property
    def current_step(self) -> int:
        return int(self.step.numpy())

    @property
    def num_traces(self) -> int:
        """How many times the many-steps loop was traced (once, for any step count)."""
        return self._loop.experimental_get_tracing_count()

    def learning_rate(self) -> float:
        return float(current_learning_rate(self.optimizer))

    def loss_scale(self) -> float:
        return float(loss_scale(self.optimizer))

    # -- compiled part --------------------------------------------------------------------------
    def _replica_step(self, batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        variables = self.model.trainable_variables
        # The forward pass updates the batch-norm statistics; a skipped step puts them back.
        statistics = [v for v in self.model.non_trainable_variables
                      if tf.as_dtype(v.dtype).is_floating]
        before = [tf.identity(v) for v in statistics]
        with tf.GradientTape() as tape:
            outputs = self.model(batch["image"], training=True)
            terms = total_loss(outputs, batch, self.config.batch_size, self.config.loss)
            scaled = self.optimizer.scale_loss(terms["loss"])
        grads = tape.gradient(scaled, variables)
        # The norm of the whole (all-replica) gradient: Keras would clip each replica's part.
        summed = tf.distribute.get_replica_context().all_reduce(
            tf.distribute.ReduceOp.SUM, grads)
        grad_norm = tf.linalg.global_norm(summed) / loss_scale(self.optimizer)
        factor = tf.constant(1.0)
        if self.config.optimizer.clip_norm > 0:
            factor = tf.minimum(1.0, self.config.optimizer.clip_norm / (grad_norm + 1e-12))
        # The global norm is the same on every replica, so all of them skip a non-finite
        # step alike. (A loss-scaled optimizer judges its own gradients: poisoning them
        # makes it skip on every replica too.)
        finite = tf.math.is_finite(grad_norm)
        factor = tf.where(finite, factor, float("nan"))
        grads = [g * tf.cast(factor, g.dtype) for g in grads]
        apply_if_finite(self.optimizer, grads, variables, finite)
        updated = statistics
        if self.strategy.num_replicas_in_sync > 1:
            # Keras 3 keeps each replica's own estimate; their mean keeps every replica and
            # worker alike, as the trainable weights are.
            updated = tf.distribute.get_replica_context().all_reduce(
                tf.distribute.ReduceOp.MEAN, [tf.identity(v) for v in statistics])
        for variable, new, old in zip(statistics, updated, before):
            variable.assign(tf.where(finite, new, old))
        return {**terms, "grad_norm": grad_norm, "finite": tf.cast(finite, tf.float32)}

    def _replica_step_and_stop_flag(self, batch: dict[str, tf.Tensor]) -> tf.Tensor:
        """The step's logged values, `finite` and this worker's stop flag as one vector, so
        that a step needs one all-reduce for all of them."""
        values = self._compiled_replica_step(batch)
        return tf.stack([tf.cast(values[name], tf.float32) for name in LOGGED]
                        + [values["finite"], self.stop_flag.read_value()])

    def _train_loop(self, iterator, num_steps: tf.Tensor) -> dict[str, tf.Tensor]:
        """Runs `num_steps` steps, fewer if too many in a row are skipped or a stop is
        requested on any worker; returns the mean of each logged value over the applied
        steps, the number skipped and whether a stop was requested."""
        totals = [tf.constant(0.0) for _ in LOGGED]
        applied, skipped = tf.constant(0.0), tf.constant(0.0)
        stop_requested = tf.constant(False)
        limit = self.config.max_nonfinite_steps
        replicas = float(self.strategy.num_replicas_in_sync)
        for _ in tf.range(num_steps):
            per_replica = self.strategy.run(self._unconverted_step, args=(next(iterator),))
            # Loss terms are per-replica shares of the global mean: their sum is the global
            # loss. The gradient norm and `finite` are the same on every replica.
            summed = self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)
            values = [summed[i] for i in range(len(LOGGED))]
            values[LOGGED.index("grad_norm")] /= replicas
            finite = summed[len(LOGGED)] > 0
            stop_requested = summed[len(LOGGED) + 1] > 0
            totals = [t + tf.where(finite, v, 0.0) for t, v in zip(totals, values)]
            applied += tf.cast(finite, tf.float32)
            skipped += 1.0 - tf.cast(finite, tf.float32)
            self.nonfinite_in_a_row.assign(
                tf.where(finite, tf.constant(0, tf.int64), self.nonfinite_in_a_row + 1))
            if self.average is not None:
                self.average.update(self.strategy, self.step)
            self.step.assign_add(1)
            if stop_requested:
                break
            if limit and self.nonfinite_in_a_row >= limit:
                break
        metrics = {name: t / tf.maximum(applied, 1.0) for name, t in zip(LOGGED, totals)}
        return {**metrics, "nonfinite_steps": skipped,
                "stop_requested": tf.cast(stop_requested, tf.float32)}

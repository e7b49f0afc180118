"""The custom training loop: a compiled GradientTape step run through `strategy.run`,
`steps_per_loop` steps per tf.function call, checkpoints that resume exactly.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import time

import keras
import tensorflow as tf

from loops import strategies
from loops.averaging import WeightAverage
from loops.budget import StepBudget
from loops.checkpoints import (AVERAGE, StopRequest, TrainingCheckpoint,
                               restore_weights_only)
from loops.config import TrainConfig
from loops.evaluation import evaluate_dataset, format_samples, format_table
from loops.model_io import save_spec
from loops.options import precision_name
from loops.optimizers import current_learning_rate, loss_scale, make_optimizer
from loops.recognizer import Recognizer
from loops.summaries import Summaries
from pipelines.dataset import InputConfig, InputPipeline
from textscanner.charset import load_charset
from textscanner.charset_tf import CharsetLookup
from textscanner.config import ModelConfig
from textscanner.losses import total_loss
from textscanner.model import TextScanner

log = logging.getLogger(__name__)

LOSS_TERMS = ("loss", "class_loss", "order_loss", "loc_loss", "mutual_loss")
LOGGED = LOSS_TERMS + ("grad_norm",)


def model_config(config: TrainConfig, num_classes: int) -> ModelConfig:
    return ModelConfig(num_classes=num_classes, backbone=config.backbone,
                       backbone_weights=config.backbone_weights,
                       input_height=config.input_height, input_width=config.input_width,
                       sync_batch_norm=config.sync_batch_norm)


@dataclasses.dataclass
class LoopResult:
    step: int
    num_steps: int
    metrics: dict[str, float]
    seconds: float
    batch_size: int

    @property
    def images_per_second(self) -> float:
        return self.num_steps * self.batch_size / self.seconds


class Trainer:
    """Builds everything under the strategy and runs the loop; see `train()`."""

    def __init__(self, config: TrainConfig):
        self.config = config
        runtime = config.runtime
        if runtime.strategy == "multi_worker" and config.max_train_seconds:
            raise ValueError("a time budget is decided by each worker alone and could leave "
                             "the others waiting in a collective: use --train_steps with "
                             "--strategy=multi_worker")
        if runtime.cpu_devices > 1:
            strategies.split_cpu(runtime.cpu_devices)
        keras.utils.set_random_seed(runtime.seed)
        if config.deterministic:
            tf.config.experimental.enable_op_determinism()
        strategies.set_precision(runtime.mixed_precision)
        self.strategy = strategies.make_strategy(runtime.strategy, runtime.devices)
        self.chief = strategies.is_chief(self.strategy)
        log.info("strategy %s (%s) with %d replica(s)", runtime.strategy,
                 type(self.strategy).__name__, self.strategy.num_replicas_in_sync)
        self.charset = load_charset(config.charset)
        with self.strategy.scope():
            self.model = TextScanner(model_config(config, self.charset.num_classes))
            self.model.build_for_input()
            # The steps this run will train: its --train_steps, or fewer when its time budget
            # allows fewer. The learning-rate decays sit at fractions of it.
            self.planned_steps = tf.Variable(
                config.train_steps, dtype=tf.int64, trainable=False, name="planned_steps",
                aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
            self.optimizer = make_optimizer(config.optimizer, runtime.mixed_precision,
                                            self.planned_steps)
            # Inside the scope and before the first step (docs/tf-notes.md).
            self.optimizer.build(self.model.trainable_variables)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step",
                                    aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
            self.average = WeightAverage(self.model.trainable_variables, config.ema_decay) \
                if config.ema_decay else None
        self._make_input(runtime.seed)
        # TF 2.21 can checkpoint a single-replica input iterator but not a multi-replica
        # DistributedIterator; those runs resume with a fresh order seeded by the step.
        self.exact_input_position = isinstance(self.iterator,
                                               tf.__internal__.tracking.Trackable)
        state = {"iterator": self.iterator} if self.exact_input_position else {}
        if self.average is not None:
            state[AVERAGE] = self.average
        self.checkpoint = TrainingCheckpoint(
            config.model_dir, self.chief, strategies.task_id(self.strategy), self.model,
            self.optimizer, config.keep_checkpoints, step=self.step,
            planned_steps=self.planned_steps, **state)
        self.recognizer = Recognizer(self.model, CharsetLookup(self.charset), config.decode,
                                     config.keep_aspect)
        self.summaries = Summaries(config.model_dir, self.chief)
        replica_step = self._replica_step
        if runtime.jit_compile:
            replica_step = tf.function(replica_step, jit_compile=True)
        self._compiled_replica_step = replica_step
        self.train_loop = tf.function(self._train_loop)
        self._plan_said: tuple[str, int] | None = None  # what the log last said of the plan

    def _make_input(self, seed: int) -> None:
        config = self.config
        self.pipeline = InputPipeline(InputConfig(
            config.train_data, global_batch_size=config.batch_size, is_training=True,
            augment=config.augment, keep_aspect=config.keep_aspect,
            deterministic=config.deterministic, seed=seed, image_height=config.input_height,
            image_width=config.input_width), self.charset)
        self.dataset = self.strategy.distribute_datasets_from_function(self.pipeline)
        self.iterator = iter(self.dataset)

    # -- compiled part --------------------------------------------------------------------------
    def _replica_step(self, batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        variables = self.model.trainable_variables
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
        # A non-finite global norm poisons every replica alike, so that a loss-scaled
        # optimizer skips the step on all of them.
        factor = tf.where(tf.math.is_finite(grad_norm), factor, float("nan"))
        grads = [g * tf.cast(factor, g.dtype) for g in grads]
        self.optimizer.apply_gradients(zip(grads, variables))
        return {**terms, "grad_norm": grad_norm}

    def _train_loop(self, iterator, num_steps: tf.Tensor) -> dict[str, tf.Tensor]:
        """Runs `num_steps` steps; returns the mean of each logged value over them."""
        totals = [tf.constant(0.0) for _ in LOGGED]
        for _ in tf.range(num_steps):
            per_replica = self.strategy.run(self._compiled_replica_step, args=(next(iterator),))
            values = []
            for name in LOGGED:
                # Loss terms are per-replica shares of the global mean: sum them. The
                # gradient norm is the same on every replica.
                op = tf.distribute.ReduceOp.MEAN if name == "grad_norm" else \
                    tf.distribute.ReduceOp.SUM
                values.append(self.strategy.reduce(op, per_replica[name], axis=None))
            totals = [t + v for t, v in zip(totals, values)]
            if self.average is not None:
                self.average.update(self.strategy, self.step)
            self.step.assign_add(1)
        count = tf.cast(num_steps, tf.float32)
        return {name: t / count for name, t in zip(LOGGED, totals)}

    # -- Python part ----------------------------------------------------------------------------
    def restore(self) -> int:
        """Resumes from model_dir if it holds a checkpoint, else warm-starts if asked."""
        if self.checkpoint.restore_latest() is None:
            if self.config.init_checkpoint:
                path = restore_weights_only(self.model, self.config.init_checkpoint)
                log.info("initialised weights from %s", path)
            return 0
        step = int(self.step.numpy())
        # A resumed run keeps the plan it was sized to (capped by the steps now asked for);
        # without a time budget the plan is the steps asked for.
        planned = self.config.train_steps
        if self.config.max_train_seconds:
            planned = min(planned, int(self.planned_steps.numpy()))
        self.planned_steps.assign(planned)
        if not self.exact_input_position:
            log.warning("resuming at step %d with a new input order (seed %d + step): the "
                        "input position of %d replicas cannot be checkpointed in TF 2.21",
                        step, self.config.runtime.seed, self.strategy.num_replicas_in_sync)
            self._make_input(self.config.runtime.seed + step)
        return step

    def train(self) -> dict:
        cfg = self.config
        os.makedirs(cfg.model_dir, exist_ok=True)
        if self.chief:
            save_spec(cfg.model_dir, self.model.config, self.charset, cfg.decode,
                      cfg.keep_aspect)
        step = self.restore()
        start_step, start_time = step, time.perf_counter()
        # A fresh run with a time budget sizes its plan from its first steps' throughput.
        budget = StepBudget(cfg.train_steps, cfg.max_train_seconds if step == 0 else 0.0)
        if step == 0:
            self.planned_steps.assign(cfg.train_steps)
        preview = self._preview_batch() if self.chief else None
        last_save = step
        with StopRequest() as stop:
            while step < int(self.planned_steps.numpy()) and not stop:
                elapsed = time.perf_counter() - start_time
                if cfg.max_train_seconds and elapsed > cfg.max_train_seconds:
                    log.warning("time budget of %.0f s used up at step %d of %d planned: the "
                                "learning-rate schedule did not finish", cfg.max_train_seconds,
                                step, int(self.planned_steps.numpy()))
                    break
                result = self._run_loop(step)
                step = result.step
                if budget.update(step, time.perf_counter() - start_time):
                    self._fit_plan(budget)
                self._log(result, start_step, start_time)
                if preview is not None and _crossed(result, cfg.image_summary_every):
                    self.summaries.predictions(self.recognizer, preview,
                                               self.charset.num_classes - 1,
                                               self.model.config.num_slots, step)
                if _crossed(result, cfg.checkpoint_every):
                    self._save(step)
                    last_save = step
                if cfg.eval_data and _crossed(result, cfg.eval_every):
                    self.evaluate(step)
        if step != last_save or not self.checkpoint.latest:
            self._save(step)
        final = {"step": step, "planned_steps": int(self.planned_steps.numpy()),
                 "train_seconds": time.perf_counter() - start_time}
        if cfg.eval_data and not stop:
            final["eval"] = self.evaluate(step)
        if self.pipeline.skipped_counts():
            log.warning("training skipped records: %s", self.pipeline.skipped_counts())
        return final

    def _fit_plan(self, budget: StepBudget) -> None:
        """Sets the planned steps from the budget's measured throughput, and says so when the
        plan is first made, when it moves by more than 2% and when it settles."""
        self.planned_steps.assign(budget.planned)
        state = ("settled" if budget.settled else "fitted", budget.planned)
        if self._plan_said:
            said_state, said_steps = self._plan_said
            if said_state == state[0] and abs(budget.planned - said_steps) <= 0.02 * said_steps:
                return
        self._plan_said = state
        cfg = self.config
        log.info("this CPU trains %.1f img/s (%s); will train %d steps (%s), about %.1f "
                 "minutes in all, within the budget of %.1f%s",
                 budget.steps_per_second * cfg.batch_size,
                 precision_name(cfg.runtime.mixed_precision), budget.planned,
                 "as asked" if budget.planned == cfg.train_steps else
                 f"of the {cfg.train_steps} asked for",
                 budget.planned / budget.steps_per_second / 60, cfg.max_train_seconds / 60,
                 "; the plan is now fixed (it only shrinks if the machine slows down)"
                 if budget.settled else "")

    def _run_loop(self, step: int) -> LoopResult:
        cfg = self.config
        num_steps = min(cfg.steps_per_loop, int(self.planned_steps.numpy()) - step)
        start = time.perf_counter()
        metrics = self.train_loop(self.iterator, tf.constant(num_steps))
        metrics = {k: float(v) for k, v in metrics.items()}  # waits for the steps to finish
        seconds = time.perf_counter() - start
        new_step = int(self.step.numpy())
        return LoopResult(new_step, num_steps, metrics, seconds, cfg.batch_size)

    def _log(self, result: LoopResult, start_step: int, start_time: float) -> None:
        done = result.step - start_step
        elapsed = time.perf_counter() - start_time
        planned = int(self.planned_steps.numpy())
        eta = (planned - result.step) * elapsed / max(done, 1)
        terms = " ".join(f"{k}={result.metrics[k]:.4f}" for k in LOGGED)
        learning_rate = float(current_learning_rate(self.optimizer))
        log.info("step %d/%d %s lr=%.2e %.1f img/s eta %s", result.step, planned,
                 terms, learning_rate, result.images_per_second, _duration(eta))
        scalars = dict(result.metrics)
        scalars.update({
            "learning_rate": learning_rate,
            "loss_scale": float(loss_scale(self.optimizer)),
            "images_per_second": result.images_per_second,
            "step_time_ms": 1000 * result.seconds / result.num_steps,
        })
        self.summaries.scalars("train", scalars, result.step)

    def _save(self, step: int) -> None:
        path = self.checkpoint.save(step)
        if self.chief:
            log.info("saved checkpoint %s", path)

    def _preview_batch(self) -> dict[str, tf.Tensor]:
        source = self.config.eval_data or self.config.train_data
        cfg = self.config
        pipeline = InputPipeline(InputConfig(source, global_batch_size=4, is_training=False,
                                             keep_aspect=cfg.keep_aspect, deterministic=True,
                                             image_height=cfg.input_height,
                                             image_width=cfg.input_width), self.charset)
        return next(iter(pipeline()))

    def evaluate(self, step: int) -> dict:
        if not self.chief:
            return {}
        # Evaluate what export and `main.py evaluate` would read: the averaged weights.
        averaged = self.average.applied() if self.average else contextlib.nullcontext()
        with averaged:
            result = evaluate_dataset(self.recognizer, self.config.eval_data, self.charset,
                                      max_batches=self.config.eval_batches,
                                      keep_aspect=self.config.keep_aspect)
        metrics = result.to_json()
        log.info("evaluation at step %d:\n%s\n%s", step, format_table("eval", metrics),
                 format_samples(result.samples))
        self.summaries.scalars("eval", {k: v for k, v in metrics.items()
                                        if isinstance(v, float)}, step)
        return metrics


def _crossed(result: LoopResult, every: int) -> bool:
    """True if a multiple of `every` lies in the steps the last loop ran."""
    return every > 0 and result.step // every > (result.step - result.num_steps) // every


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s"

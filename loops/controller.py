"""The training controller: the cadences around a `TrainRunner`. It resumes from the last
checkpoint, sizes the run to its time budget, and between the runner's compiled loops logs,
writes summaries, checkpoints, evaluates and honours stop requests (SIGTERM, SIGINT)."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import time

import tensorflow as tf

from loops import pretrained, start_average, strategies, warm_start
from loops.budget import StepBudget
from loops.checkpoints import AVERAGE, TrainingCheckpoint, restore_weights_only, weights_digest
from loops.config import TrainConfig
from loops.evaluation import evaluate_dataset, format_samples, format_table
from loops.model_io import float32_models, recognizer_from_checkpoint, save_spec
from loops.options import precision_name
from loops.recognizer import Recognizer
from loops.runner import LOGGED, TrainRunner
from loops.stop_request import StopRequest
from loops.summaries import Summaries
from pipelines.dataset import InputConfig, InputPipeline
from textscanner import storage
from textscanner.charset_tf import CharsetLookup

log = logging.getLogger(__name__)


class TrainingDiverged(RuntimeError):
    """Too many steps in a row had a non-finite loss or gradient (`main.py train` exits 3)."""


class PeerLost(RuntimeError):
    """A multi-worker run lost contact with another worker (`main.py train` exits
    `loops.cluster.PEER_LOST_STATUS`)."""


# What a collective raises when a peer died, stopped answering heartbeats or left.
_PEER_ERRORS = (tf.errors.UnavailableError, tf.errors.DeadlineExceededError,
                tf.errors.CancelledError, tf.errors.AbortedError)


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


class Controller:
    """Runs `runner` to the planned step; see `train()`."""

    def __init__(self, config: TrainConfig, runner: TrainRunner):
        if config.runtime.strategy == "multi_worker" and config.max_train_seconds:
            raise ValueError("a time budget is decided by each worker alone and could leave "
                             "the others waiting in a collective: use --train_steps with "
                             "--strategy=multi_worker")
        self.config = config
        self.runner = runner
        strategy = runner.strategy
        self.chief = strategies.is_chief(strategy)
        state = {"iterator": runner.iterator} if runner.input_position_is_checkpointable \
            else {}
        if runner.average is not None:
            state[AVERAGE] = runner.average
        self.checkpoint = TrainingCheckpoint(
            config.model_dir, self.chief, strategies.task_id(strategy), runner.model,
            runner.optimizer, config.keep_checkpoints, step=runner.step,
            planned_steps=runner.planned_steps, **state)
        self.recognizer = Recognizer(runner.model, CharsetLookup(runner.charset),
                                     config.decode, config.keep_aspect)
        self.summaries = Summaries(config.model_dir, self.chief)
        self._plan_said: tuple[str, int] | None = None  # what the log last said of the plan
        self.initialised_from: str | None = None  # the warm start of a run from step 0

    @property
    def planned_steps(self) -> int:
        return int(self.runner.planned_steps.numpy())

    def restore(self) -> int:
        """Resumes from model_dir if it holds a checkpoint, else warm-starts if asked."""
        runner, cfg = self.runner, self.config
        if self.checkpoint.restore_latest() is None:
            start = warm_start.choose(cfg.init_checkpoint, runner.model.config, runner.charset)
            if start.source:
                # A finished run's folder starts a new run from what evaluate reads of it.
                path = pretrained.resolve(start.source)
                restore_weights_only(runner.model, start_average.current_average(path) or path)
                if self.chief:
                    start_average.record_start(cfg.model_dir, start.source, runner.model)
            self.initialised_from = start.source
            log.info("%s", start.reason)
            return 0
        step = runner.current_step
        # A resumed run keeps the plan it was sized to (capped by the steps now asked for);
        # without a time budget the plan is the steps asked for.
        planned = cfg.train_steps
        if cfg.max_train_seconds:
            planned = min(planned, self.planned_steps)
        runner.planned_steps.assign(planned)
        if not runner.input_position_is_checkpointable:
            log.warning("resuming at step %d with a new input order (seed %d + step): the "
                        "input position of %d replicas cannot be checkpointed in TF 2.21",
                        step, cfg.runtime.seed, runner.strategy.num_replicas_in_sync)
            runner.reset_input(cfg.runtime.seed + step)
        return step

    def train(self) -> dict:
        """Trains to the planned step (or a stop request); returns the final step, the plan,
        the seconds spent and, with eval_data, the final evaluation."""
        cfg, runner = self.config, self.runner
        storage.makedirs(cfg.model_dir)
        if self.chief:
            save_spec(cfg.model_dir, runner.model.config, runner.charset, cfg.decode,
                      cfg.keep_aspect)
        step = self.restore()
        start_step, start_time = step, time.perf_counter()
        # A fresh run with a time budget sizes its plan from its first steps' throughput.
        budget = StepBudget(cfg.train_steps, cfg.max_train_seconds if step == 0 else 0.0)
        if step == 0:
            runner.planned_steps.assign(cfg.train_steps)
        preview = None  # built when the first image summary is due: a pipeline of its own
        last_save = step
        with StopRequest([runner.request_stop]) as stop:
            while step < self.planned_steps and not stop:
                elapsed = time.perf_counter() - start_time
                if cfg.max_train_seconds and elapsed > cfg.max_train_seconds:
                    log.warning("time budget of %.0f s used up at step %d of %d planned: the "
                                "learning-rate schedule did not finish", cfg.max_train_seconds,
                                step, self.planned_steps)
                    break
                result = self._run_loop_or_lose_peer(step)
                step = result.step
                if result.metrics["stop_requested"] and not stop:
                    stop.set(message=f"another worker asked to stop: stopped at step "
                                     f"{step}; saving a checkpoint")
                self._check_finite(result)
                if budget.update(step, time.perf_counter() - start_time):
                    self._fit_plan(budget)
                self._log(result, start_step, start_time)
                if self.chief and _crossed(result, cfg.image_summary_every):
                    preview = preview if preview is not None else self._preview_batch()
                    self.summaries.predictions(self.recognizer, preview,
                                               runner.charset.num_classes - 1,
                                               runner.model.config.num_slots, step)
                if _crossed(result, cfg.checkpoint_every):
                    self._save(step)
                    last_save = step
                if cfg.eval_data and _crossed(result, cfg.eval_every):
                    self.evaluate(step)
        if step != last_save or not self.checkpoint.latest:
            self._save(step)
        final = {"step": step, "planned_steps": self.planned_steps,
                 "train_seconds": time.perf_counter() - start_time,
                 "weights_sha256": weights_digest(runner.model)}
        if self.initialised_from:
            final["initialised_from"] = self.initialised_from
        if stop:
            final["stopped_by"] = signal.Signals(stop.signum).name if stop.signum \
                else "another worker"
            log.warning("stopped at step %d of %d (%s); run the same command again to resume "
                        "from the checkpoint", step, self.planned_steps, final["stopped_by"])
        if cfg.eval_data and not stop:
            final["eval"] = self.evaluate(step)
        if runner.pipeline.skipped_counts():
            log.warning("training skipped records: %s", runner.pipeline.skipped_counts())
        return final

    def evaluate(self, step: int) -> dict:
        """Scores the eval set with the weights export would read (the averaged ones)."""
        if not self.chief:
            return {}
        average = self.runner.average
        with average.applied() if average else contextlib.nullcontext():
            return self._score(self.recognizer, "eval", step)

    def evaluate_folder(self, folder: str, step: int) -> dict:
        """Scores the eval set with a model folder's weights (the run's average with its
        start); its scalars go under the folder's name in the eval summaries."""
        if not self.chief:
            return {}
        name = os.path.basename(os.path.normpath(folder))
        with float32_models():
            recognizer = recognizer_from_checkpoint(folder)
        return self._score(recognizer, name, step)

    def _score(self, recognizer: Recognizer, name: str, step: int) -> dict:
        result = evaluate_dataset(recognizer, self.config.eval_data, self.runner.charset,
                                  max_batches=self.config.eval_batches,
                                  keep_aspect=self.config.keep_aspect)
        metrics = result.to_json()
        log.info("evaluation (%s) at step %d:\n%s\n%s", name, step, format_table(name, metrics),
                 format_samples(result.samples))
        prefix = "" if name == "eval" else f"{name}/"
        self.summaries.scalars("eval", {prefix + k: v for k, v in metrics.items()
                                        if isinstance(v, float)}, step)
        return metrics

    # -- cadences -------------------------------------------------------------------------------
    def _run_loop(self, step: int) -> LoopResult:
        start = time.perf_counter()
        metrics = self.runner.train(min(self.config.steps_per_loop, self.planned_steps - step))
        seconds = time.perf_counter() - start
        new_step = self.runner.current_step  # fewer steps than asked if the loop stopped
        return LoopResult(new_step, new_step - step, metrics, seconds, self.config.batch_size)

    def _run_loop_or_lose_peer(self, step: int) -> LoopResult:
        """`_run_loop`; in a multi-worker run, a peer's failure becomes a `PeerLost` that
        names the step and the checkpoint to resume from."""
        if self.config.runtime.strategy != "multi_worker":
            return self._run_loop(step)
        try:
            return self._run_loop(step)
        except _PEER_ERRORS as e:
            detail = next((line.strip() for line in str(e).splitlines()
                           if "aborted by" in line or "unhealthy" in line), "")
            raise PeerLost(
                f"lost contact with another worker after step {step} ({type(e).__name__}"
                f"{': ' + detail if detail else ''}). The job cannot go on without it: "
                f"restart every worker; they resume from "
                f"{self.checkpoint.latest or 'the start (no checkpoint yet)'}.") from None

    def _check_finite(self, result: LoopResult) -> None:
        """Says how many steps were skipped as non-finite; stops the run, without saving,
        once `max_nonfinite_steps` in a row were."""
        skipped = int(result.metrics["nonfinite_steps"])
        if not skipped:
            return
        first = result.step - result.num_steps + 1
        log.warning("%d of steps %d-%d had a non-finite loss or gradient and were skipped on "
                    "every replica", skipped, first, result.step)
        in_a_row = int(self.runner.nonfinite_in_a_row.numpy())
        limit = self.config.max_nonfinite_steps
        if limit and in_a_row >= limit:
            self.summaries.scalars("train", {"nonfinite_steps": float(skipped)}, result.step)
            raise TrainingDiverged(
                f"steps {result.step - in_a_row + 1}-{result.step}: {in_a_row} steps in a row "
                f"had a non-finite loss or gradient (--max_nonfinite_steps={limit}); the run "
                f"stops without saving. The last checkpoint holds the weights from before: "
                f"{self.checkpoint.latest or 'none was saved'}. Look for bad records or lower "
                f"--learning_rate, then run again to resume from it.")

    def _fit_plan(self, budget: StepBudget) -> None:
        """Sets the planned steps from the budget's measured throughput, and says so when the
        plan is first made, when it moves by more than 2% and when it settles."""
        self.runner.planned_steps.assign(budget.planned)
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

    def _log(self, result: LoopResult, start_step: int, start_time: float) -> None:
        done = result.step - start_step
        elapsed = time.perf_counter() - start_time
        planned = self.planned_steps
        eta = (planned - result.step) * elapsed / max(done, 1)
        terms = " ".join(f"{k}={result.metrics[k]:.4f}" for k in LOGGED)
        learning_rate = self.runner.learning_rate()
        log.info("step %d/%d %s lr=%.2e %.1f img/s eta %s", result.step, planned,
                 terms, learning_rate, result.images_per_second, _duration(eta))
        scalars = dict(result.metrics)
        scalars.update({
            "learning_rate": learning_rate,
            "loss_scale": self.runner.loss_scale(),
            "images_per_second": result.images_per_second,
            "step_time_ms": 1000 * result.seconds / result.num_steps,
        })
        self.summaries.scalars("train", scalars, result.step)

    def _save(self, step: int) -> None:
        path = self.checkpoint.save(step)
        if self.chief:
            log.info("saved checkpoint %s", path)

    def _preview_batch(self) -> dict[str, tf.Tensor]:
        """Four held-out (or training) images that the image summaries show predictions on."""
        cfg = self.config
        pipeline = InputPipeline(InputConfig.for_model(
            self.runner.model.config, cfg.eval_data or cfg.train_data, global_batch_size=4,
            is_training=False, keep_aspect=cfg.keep_aspect, deterministic=True),
            self.runner.charset)
        return next(iter(pipeline()))


def _crossed(result: LoopResult, every: int) -> bool:
    """True if a multiple of `every` lies in the steps the last loop ran."""
    return every > 0 and result.step // every > (result.step - result.num_steps) // every


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s"

"""`benchmark --what=train`: images/s of the compiled step with the real pipeline, of the
same step run eagerly (the seed's run_eagerly=True), and of the compiled step on one
constant in-memory batch; each mode in its own process (mixing them in one process slows
the later ones)."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time

import tensorflow as tf

from loops.config import TrainConfig
from loops.trainer import Trainer

MODES = ("compiled", "eager", "constant_batch")


def measure(config: TrainConfig, mode: str, steps: int, warmup: int = 3) -> float:
    """Images/s of `steps` training steps in `mode`, measured in this process."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {MODES}")
    trainer = Trainer(config)
    if mode == "eager":
        tf.config.run_functions_eagerly(True)
    if mode == "constant_batch":
        batch = next(trainer.iterator)  # one distributed batch, reused at every step

        @tf.function
        def constant_loop(num_steps):
            for _ in tf.range(num_steps):
                trainer.strategy.run(trainer._compiled_replica_step, args=(batch,))
            return trainer.step.read_value()

        def run(n: int) -> None:
            constant_loop(tf.constant(n)).numpy()
    else:
        def run(n: int) -> None:
            metrics = trainer.train_loop(trainer.iterator, tf.constant(n))
            float(metrics["loss"])  # wait for the steps
    run(warmup)
    start = time.perf_counter()
    run(steps)
    return steps * config.batch_size / (time.perf_counter() - start)


def benchmark_train(argv_base: list[str], steps: int, batch_size: int) -> dict:
    """Runs each mode in a fresh `python main.py benchmark` process; returns one dict."""
    rates = {}
    for mode in MODES:
        with tempfile.TemporaryDirectory() as model_dir:
            cmd = argv_base + [f"--benchmark_mode={mode}", f"--model_dir={model_dir}"]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True)
            line = [x for x in out.stdout.splitlines() if x.startswith("{")][-1]
            rates[mode] = json.loads(line)["images_per_second"]
    return {"what": "train", "images_per_second": round(rates["compiled"], 2),
            "eager_images_per_second": round(rates["eager"], 2),
            "constant_batch_images_per_second": round(rates["constant_batch"], 2),
            "compiled_over_eager": round(rates["compiled"] / rates["eager"], 2),
            "pipeline_over_constant_batch": round(rates["compiled"] / rates["constant_batch"], 3),
            "batch_size": batch_size, "steps": steps}


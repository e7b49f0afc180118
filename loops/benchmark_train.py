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
    source = trainer.iterator
    if mode == "constant_batch":
        # One distributed batch, held in memory and fed to the same loop (metrics and step
        # counting included) at every step: only the input pipeline is taken away.
        source = _SameBatch(next(trainer.iterator))

    def run(n: int) -> None:
        metrics = trainer.train_loop(source, tf.constant(n))
        float(metrics["loss"])  # wait for the steps
    run(warmup)
    start = time.perf_counter()
    run(steps)
    return steps * config.batch_size / (time.perf_counter() - start)


class _SameBatch:
    """An iterator that yields one batch forever (captured by the loop's trace)."""

    def __init__(self, batch):
        self.batch = batch

    def __iter__(self) -> "_SameBatch":
        return self

    def __next__(self):
        return self.batch


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


"""`benchmark --what=train`: images/s of the compiled step with the real pipeline, of the
same step run eagerly (the seed's run_eagerly=True), and of the compiled step on one
constant in-memory batch; each mode in its own process (mixing them in one process slows
the later ones). Beside img/s: the training compute per image counted from the graph, the
GFLOP/s that makes, and the fraction of this machine's float32 matmul peak."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time

import tensorflow as tf

from loops.config import TrainConfig
from loops.flops import matmul_peak_gflops, train_flops_per_image
from loops.options import precision_name
from loops.runner import TrainRunner
from loops.strategies import set_up_runtime
from textscanner.charset import load_charset

MODES = ("compiled", "eager", "constant_batch")


def measure(config: TrainConfig, mode: str, steps: int, warmup: int = 3) -> float:
    """Images/s of `steps` training steps in `mode`, measured in this process after `warmup`
    steps (one when eager: there is no trace to amortise)."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {MODES}")
    runner = TrainRunner(config, set_up_runtime(config.runtime, config.deterministic))
    if mode == "eager":
        tf.config.run_functions_eagerly(True)
        warmup = min(warmup, 1)

    source = runner.iterator
    if mode == "constant_batch":
        # One distributed batch, held in memory and fed to the same loop (metrics and step
        # counting included) at every step: only the input pipeline is taken away.
        source = _SameBatch(next(runner.iterator))
    runner.train_on(source, warmup)
    start = time.perf_counter()
    runner.train_on(source, steps)
    return steps * config.batch_size / (time.perf_counter() - start)


class _SameBatch:
    """An iterator that yields one batch forever (captured by the loop's trace)."""

    def __init__(self, batch):
        self.batch = batch

    def __iter__(self) -> "_SameBatch":
        return self

    def __next__(self):
        return self.batch


def benchmark_train(argv_base: list[str], config: TrainConfig, steps: int) -> dict:
    """Runs each mode in a fresh `python main.py benchmark` process, then counts the compute
    per image and measures this machine's matmul peak; returns one dict."""
    rates = {}
    for mode in MODES:
        with tempfile.TemporaryDirectory() as model_dir:
            cmd = argv_base + [f"--benchmark_mode={mode}", f"--model_dir={model_dir}"]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True)
            line = [x for x in out.stdout.splitlines() if x.startswith("{")][-1]
            rates[mode] = json.loads(line)["images_per_second"]
    flops = train_flops_per_image(config.model_config(load_charset(config.charset).num_classes))
    achieved = rates["compiled"] * flops / 1e9
    peak = matmul_peak_gflops()
    return {"what": "train", "images_per_second": round(rates["compiled"], 2),
            "train_gflop_per_image": round(flops / 1e9, 4),
            "achieved_gflops": round(achieved, 2),
            "matmul_peak_gflops": round(peak, 2),
            "fraction_of_peak": round(achieved / peak, 3),
            "input_size": list(config.model.input_size),
            "precision": precision_name(config.runtime.mixed_precision),
            "eager_images_per_second": round(rates["eager"], 2),
            "constant_batch_images_per_second": round(rates["constant_batch"], 2),
            "compiled_over_eager": round(rates["compiled"] / rates["eager"], 2),
            "pipeline_over_constant_batch": round(rates["compiled"] / rates["constant_batch"], 3),
            "batch_size": config.batch_size, "steps": steps}


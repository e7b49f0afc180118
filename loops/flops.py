"""Compute per image, counted from the graph, and this machine's matmul peak."""

from __future__ import annotations

import time
from typing import Callable

import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import \
    convert_variables_to_constants_v2

from loops.model_io import float32_models
from textscanner.config import ModelConfig
from textscanner.model import TextScanner

# A training step runs the forward pass, then the backward pass, which costs about twice
# the forward (a gradient for the inputs and one for the weights of every layer).
TRAIN_OVER_FORWARD = 3


def function_flops(fn: Callable[[tf.Tensor], object], spec: tf.TensorSpec) -> int:
    """Floating-point operations of `fn` on an input of `spec`: TF's profiler summed over the
    frozen graph (convolutions, matmuls and the elementwise ops that register a count)."""
    concrete = tf.function(fn).get_concrete_function(spec)
    graph = convert_variables_to_constants_v2(concrete).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return int(tf.compat.v1.profiler.profile(graph, options=options).total_float_ops)


def forward_flops(config: ModelConfig) -> int:
    """Floating-point operations of one image's forward pass (inference mode), counted on a
    float32 copy of the model built here."""
    with float32_models():
        model = TextScanner(config).build_for_input()
    spec = tf.TensorSpec([1, config.input_height, config.input_width, 3], tf.float32)
    return function_flops(lambda x: model(x, training=False), spec)


def train_flops_per_image(config: ModelConfig) -> int:
    """Estimated floating-point operations to train on one image (forward and backward)."""
    return TRAIN_OVER_FORWARD * forward_flops(config)


def matmul_peak_gflops(size: int = 2048, repeats: int = 10) -> float:
    """GFLOP/s of a float32 size x size matmul on this machine: the ceiling the train step's
    convolutions could reach."""
    a = tf.random.normal([size, size])
    b = tf.random.normal([size, size])
    matmul = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    float(matmul())  # trace and warm up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        float(matmul())
        best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best / 1e9

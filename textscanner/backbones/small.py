"""A small residual backbone (about 1.2 M parameters) of the same multi-scale shape as
ResNet-50, for CPUs, tests and the demo. Narrow at stride 2, where pixels are many."""

from __future__ import annotations

import keras
from keras import layers

from textscanner.backbones import load_weights_or_explain, register
from textscanner.layers import batch_norm

# Strides 2, 4, 8, 16, 32. 32 channels at stride 2, not fewer: oneDNN's bfloat16 batch norm
# is slow for some channel counts, such as 24 (measured in BUILD.md).
WIDTHS = (32, 48, 96, 160, 256)


def _conv_bn(x, filters, strides=1, name="", sync=False):
    x = layers.Conv2D(filters, 3, strides, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = batch_norm(sync, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def _residual(x, filters, name, sync=False):
    y = _conv_bn(x, filters, name=f"{name}_a", sync=sync)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_b_conv")(y)
    y = batch_norm(sync, name=f"{name}_b_bn")(y)
    return layers.ReLU(name=f"{name}_out")(layers.Add(name=f"{name}_add")([x, y]))


@register("small")
def build(input_shape: tuple[int, int, int], weights: str | None = None,
          sync_batch_norm: bool = False) -> keras.Model:
    inputs = keras.Input(input_shape, name="image")
    x = layers.Rescaling(2.0, offset=-1.0, name="normalise")(inputs)  # [0, 1] -> [-1, 1]
    features = []
    x = _conv_bn(x, WIDTHS[0], 2, "stage1", sync_batch_norm)
    features.append(x)
    for stage, width in enumerate(WIDTHS[1:], start=2):
        x = _conv_bn(x, width, 2, f"stage{stage}_down", sync_batch_norm)
        if stage < 5:
            x = _residual(x, width, f"stage{stage}_block", sync_batch_norm)
        features.append(x)
    model = keras.Model(inputs, features, name="small_backbone")
    if weights:
        load_weights_or_explain(model, weights, "small")
    return model

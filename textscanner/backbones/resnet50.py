"""ResNet-50 (Keras applications) tapped at strides 2..32, ImageNet preprocessing inside."""

from __future__ import annotations

import logging

import keras
from keras import layers

from textscanner.backbones import load_weights_or_explain, register

TAPS = ("conv1_relu", "conv2_block3_out", "conv3_block4_out", "conv4_block6_out",
        "conv5_block3_out")
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


class CaffePreprocess(layers.Layer):
    """RGB in [0, 1] -> 0-255 BGR minus the ImageNet mean (keras resnet preprocess_input)."""

    def call(self, x):
        x = x[..., ::-1] * 255.0
        return x - keras.ops.convert_to_tensor(_CAFFE_MEAN_BGR, dtype=x.dtype)


# Wider than the small model's layers, in proportion to ResNet-50's 256-2048-channel features.
@register("resnet50", decoder_channels=256, output_channels=64, head_channels=64,
          order_channels=(32, 64, 128))
def build(input_shape: tuple[int, int, int], weights: str | None = None,
          sync_batch_norm: bool = False) -> keras.Model:
    """`weights`: Keras' ImageNet notop .h5 (legacy format) or a .weights.h5 we saved.
    Keras' ResNet-50 has its own batch norm: sync_batch_norm does not reach it."""
    if sync_batch_norm:
        logging.getLogger(__name__).warning("sync_batch_norm does not apply inside the "
                                            "ResNet-50 trunk (Keras applications' BN)")
    base = keras.applications.ResNet50(include_top=False, weights=None,
                                       input_shape=input_shape)
    if weights and not weights.endswith(".weights.h5"):
        load_weights_or_explain(base, weights, "resnet50")
    trunk = keras.Model(base.input, [base.get_layer(n).output for n in TAPS],
                        name="resnet50_trunk")
    inputs = keras.Input(input_shape, name="image")
    model = keras.Model(inputs, trunk(CaffePreprocess(name="caffe_preprocess")(inputs)),
                        name="resnet50_backbone")
    if weights and weights.endswith(".weights.h5"):
        load_weights_or_explain(model, weights, "resnet50")
    return model

"""A backbone defined outside `textscanner/backbones`: importing this module registers it,
with its own widths for the layers on top. The registry test uses it."""

import keras
from keras import layers

from textscanner.backbones import register

NAME = "tiny_test_backbone"
WIDTHS = {"decoder_channels": 16, "output_channels": 8, "head_channels": 8,
          "order_channels": (8, 8, 16)}


@register(NAME, **WIDTHS)
def build(input_shape, weights=None, sync_batch_norm=False) -> keras.Model:
    inputs = keras.Input(input_shape, name="image")
    x, features = inputs, []
    for stage, width in enumerate((8, 8, 16, 16, 16), start=1):  # strides 2 .. 32
        x = layers.Conv2D(width, 3, 2, padding="same", activation="relu",
                          name=f"tiny{stage}")(x)
        features.append(x)
    return keras.Model(inputs, features, name="tiny_backbone")

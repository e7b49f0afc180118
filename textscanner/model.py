"""The TextScanner network (docs/model.md, section 1): backbone, top-down decoder to stride 2,
class branch G, localisation map Q and order segmentation S with a GRU along the width.

The model returns float32 logits whatever the compute dtype; probabilities, order maps and
word formation are derived from them in `textscanner.word_formation`.
"""

from __future__ import annotations

import dataclasses

import keras
from keras import layers, ops

from textscanner.backbones import backbone_spec, build_backbone
from textscanner.config import ModelConfig
from textscanner.layers import batch_norm


class ConvBNReLU(layers.Layer):
    def __init__(self, filters: int, kernel_size: int = 3, strides: int = 1,
                 sync_batch_norm: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.conv = layers.Conv2D(filters, kernel_size, strides, padding="same", use_bias=False)
        self.bn = batch_norm(sync_batch_norm)

    def call(self, x, training=None):
        return ops.relu(self.bn(self.conv(x), training=training))


class TopDownDecoder(layers.Layer):
    """FPN-style path from stride 32 to stride 2: 1x1 projection, upsample x2, add, 3x3."""

    def __init__(self, channels: int, output_channels: int, sync_batch_norm: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        widths = [output_channels, channels, channels, channels, channels]  # strides 2..32
        self.lateral = [layers.Conv2D(c, 1, name=f"lateral{i}") for i, c in enumerate(widths)]
        self.smooth = [ConvBNReLU(c, sync_batch_norm=sync_batch_norm, name=f"smooth{i}")
                       for i, c in enumerate(widths[:-1])]
        self.reduce = layers.Conv2D(output_channels, 1, name="reduce_to_stride2")

    def call(self, features, training=None):
        x = self.lateral[-1](features[-1])
        for level in range(len(features) - 2, -1, -1):
            x = ops.repeat(ops.repeat(x, 2, axis=1), 2, axis=2)  # nearest upsampling x2
            if level == 0:
                x = self.reduce(x)
            x = self.smooth[level](x + self.lateral[level](features[level]), training=training)
        return x


class OrderSegmentation(layers.Layer):
    """Small encoder-decoder with a GRU reading the columns left to right -> N + 1 logits."""

    def __init__(self, num_slots: int, channels: tuple[int, int, int], map_height: int,
                 bidirectional: bool = False, sync_batch_norm: bool = False, **kwargs):
        super().__init__(**kwargs)
        c1, c2, c3 = channels
        sync = sync_batch_norm
        self.down = [ConvBNReLU(c, strides=2, sync_batch_norm=sync, name=f"down{i}")
                     for i, c in enumerate(channels)]
        self.rows = map_height // 8
        units = self.rows * c3
        gru = layers.GRU(units, return_sequences=True, name="gru")
        self.gru = layers.Bidirectional(gru, merge_mode="sum") if bidirectional else gru
        # The last upsampling conv runs at full map resolution, where convs cost most:
        # it is the only one there before the 1x1 logits.
        self.up = [ConvBNReLU(c2, sync_batch_norm=sync, name="up0"),
                   ConvBNReLU(c1, sync_batch_norm=sync, name="up1"),
                   ConvBNReLU(c1, sync_batch_norm=sync, name="up2")]
        self.logits = layers.Conv2D(num_slots + 1, 1, dtype="float32", name="order_logits")
        self.c3 = c3

    def call(self, x, training=None):
        skips = []
        for down in self.down:
            x = down(x, training=training)
            skips.append(x)
        batch, width = ops.shape(x)[0], ops.shape(x)[2]
        columns = ops.reshape(ops.transpose(x, (0, 2, 1, 3)), (batch, width, self.rows * self.c3))
        columns = self.gru(columns, training=training)
        x = ops.transpose(ops.reshape(columns, (batch, width, self.rows, self.c3)), (0, 2, 1, 3))
        for up, skip in zip(self.up, (skips[1], skips[0], None)):
            x = ops.repeat(ops.repeat(x, 2, axis=1), 2, axis=2)
            x = up(x, training=training)
            if skip is not None:
                x = x + skip
        return self.logits(x)


def with_backbone_widths(config: ModelConfig) -> ModelConfig:
    """`config` with every width left at None taken from its backbone's registration."""
    spec = backbone_spec(config.backbone)
    widths = {name: getattr(spec, name) for name in
              ("decoder_channels", "output_channels", "head_channels", "order_channels")
              if getattr(config, name) is None}
    return dataclasses.replace(config, **widths)


class TextScanner(keras.Model):
    """images [B, H, W, 3] in [0, 1] -> dict of float32 logits at stride 2:
    class_logits [B, h, w, C + 1], loc_logits [B, h, w], order_logits [B, h, w, N + 1]."""

    def __init__(self, config: ModelConfig, **kwargs):
        super().__init__(name="textscanner", **kwargs)
        if config.num_classes < 2:
            raise ValueError(f"num_classes must count the background and at least one "
                             f"character, got {config.num_classes}")
        config = with_backbone_widths(config)
        self.config = config  # every width resolved: what the model spec records
        input_shape = (config.input_height, config.input_width, 3)
        sync = config.sync_batch_norm
        self.backbone = build_backbone(config.backbone, input_shape, config.backbone_weights,
                                       sync_batch_norm=sync)
        self.decoder = TopDownDecoder(config.decoder_channels, config.output_channels,
                                      sync_batch_norm=sync, name="decoder")
        self.class_head = ConvBNReLU(config.head_channels, sync_batch_norm=sync,
                                     name="class_head")
        self.class_logits = layers.Conv2D(config.num_classes, 1, dtype="float32",
                                          name="class_logits")
        self.loc_head = ConvBNReLU(config.head_channels // 2, sync_batch_norm=sync,
                                   name="loc_head")
        self.loc_logits = layers.Conv2D(1, 1, dtype="float32", name="loc_logits")
        self.order = OrderSegmentation(config.num_slots, config.order_channels,
                                       config.map_size[0], config.bidirectional_gru,
                                       sync_batch_norm=sync, name="order_segmentation")

    def call(self, images, training=None):
        features = self.backbone(images, training=training)
        x = self.decoder(features, training=training)
        return {
            "class_logits": self.class_logits(self.class_head(x, training=training)),
            "loc_logits": self.loc_logits(self.loc_head(x, training=training))[..., 0],
            "order_logits": self.order(x, training=training),
        }

    def build_for_input(self) -> "TextScanner":
        """Creates every variable by calling the model once on zeros."""
        cfg = self.config
        self(ops.zeros((1, cfg.input_height, cfg.input_width, 3)), training=False)
        return self

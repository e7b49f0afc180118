"""Layers shared by the model and the small backbone."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers


@keras.saving.register_keras_serializable("textscanner")
class FusedBatchNormalization(layers.BatchNormalization):
    """Keras batch normalization computed by TensorFlow's fused kernel.

    Keras 3 normalises with separate ops (a float32 copy of the input, moments, scale and
    shift, a cast back), each a full pass over the tensor in the forward and the backward
    pass. `FusedBatchNormV3` does it in one kernel, in the input's dtype with float32
    statistics, which shortens the whole train step (BUILD.md has the measurement).
    Same variables and names as `keras.layers.BatchNormalization`, so weights and
    checkpoints are interchangeable. The moving variance is updated with the unbiased
    batch variance (as in TF 1 Keras), not the biased one. Synchronized statistics,
    masks and inputs other than NHWC fall back to the Keras implementation.
    """

    def call(self, inputs, training=None, mask=None):
        if (self.synchronized or mask is not None or len(inputs.shape) != 4
                or self.axis not in (-1, 3) or self.renorm):
            return super().call(inputs, training=training, mask=mask)
        scale = tf.cast(self.gamma, tf.float32) if self.scale else tf.ones(inputs.shape[-1])
        offset = tf.cast(self.beta, tf.float32) if self.center else tf.zeros(inputs.shape[-1])
        mean = tf.cast(self.moving_mean, tf.float32)
        variance = tf.cast(self.moving_variance, tf.float32)
        inputs = tf.cast(inputs, self.compute_dtype)
        training = bool(training) and self.trainable
        outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            inputs, scale, offset, mean=mean, variance=variance, epsilon=self.epsilon,
            is_training=training, exponential_avg_factor=1.0 - self.momentum if training else 1.0)
        if training:
            self.moving_mean.assign(mean)
            self.moving_variance.assign(variance)
        return outputs


def batch_norm(synchronized: bool = False, **kwargs) -> layers.BatchNormalization:
    """The fused layer, or Keras' own when statistics are synchronized across replicas."""
    if synchronized:
        return layers.BatchNormalization(synchronized=True, **kwargs)
    return FusedBatchNormalization(**kwargs)

"""The fused batch normalization layer against Keras' own and a numpy reference."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from textscanner.layers import FusedBatchNormalization, batch_norm


def _pair(channels=5, momentum=0.9):
    keras_bn = keras.layers.BatchNormalization(momentum=momentum)
    fused_bn = FusedBatchNormalization(momentum=momentum)
    for layer in (keras_bn, fused_bn):
        layer.build((None, 4, 6, channels))
    rng = np.random.default_rng(0)
    for name in ("gamma", "beta", "moving_mean"):
        value = rng.normal(size=channels).astype(np.float32)
        getattr(keras_bn, name).assign(value)
        getattr(fused_bn, name).assign(value)
    variance = rng.uniform(0.5, 2.0, size=channels).astype(np.float32)
    keras_bn.moving_variance.assign(variance)
    fused_bn.moving_variance.assign(variance)
    return keras_bn, fused_bn


def test_training_output_gradients_and_moving_statistics_match_numpy():
    keras_bn, fused_bn = _pair()
    x = np.random.default_rng(1).normal(3.0, 2.0, size=(3, 4, 6, 5)).astype(np.float32)
    old_mean, old_var = fused_bn.moving_mean.numpy(), fused_bn.moving_variance.numpy()
    xt = tf.constant(x)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(xt)
        keras_out = keras_bn(xt, training=True)
        fused_out = fused_bn(xt, training=True)
        keras_loss = tf.reduce_sum(keras_out * tf.range(5, dtype=tf.float32))
        fused_loss = tf.reduce_sum(fused_out * tf.range(5, dtype=tf.float32))
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    expected = (x - mean) / np.sqrt(var + 1e-3) * fused_bn.gamma.numpy() + fused_bn.beta.numpy()
    np.testing.assert_allclose(fused_out.numpy(), expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(fused_out.numpy(), keras_out.numpy(), rtol=1e-4, atol=1e-4)
    for a, b in zip(tape.gradient(keras_loss, [xt] + keras_bn.trainable_weights),
                    tape.gradient(fused_loss, [xt] + fused_bn.trainable_weights)):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-3, atol=1e-3)
    n = x.size // 5
    np.testing.assert_allclose(fused_bn.moving_mean.numpy(), 0.9 * old_mean + 0.1 * mean,
                               rtol=1e-5, atol=1e-5)
    # unbiased batch variance in the moving average (TF's fused kernel)
    np.testing.assert_allclose(fused_bn.moving_variance.numpy(),
                               0.9 * old_var + 0.1 * var * n / (n - 1), rtol=1e-5, atol=1e-5)


def test_inference_uses_moving_statistics_like_keras():
    keras_bn, fused_bn = _pair()
    x = np.random.default_rng(2).normal(size=(2, 4, 6, 5)).astype(np.float32)
    np.testing.assert_allclose(fused_bn(x, training=False).numpy(),
                               keras_bn(x, training=False).numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("policy", ["bfloat16", "mixed_bfloat16", "mixed_float16"])
def test_low_precision_inputs_keep_their_dtype_and_float32_statistics(policy):
    keras_bn, _ = _pair()
    layer = FusedBatchNormalization(dtype=policy)
    x = tf.random.normal((2, 4, 6, 5), 1.0, 2.0)
    x = tf.cast(x, layer.compute_dtype)
    out = layer(x, training=True)
    assert out.dtype == layer.compute_dtype
    assert layer.moving_mean.dtype == ("bfloat16" if policy == "bfloat16" else "float32")
    keras_out = keras.layers.BatchNormalization(dtype=policy)(x, training=True)
    np.testing.assert_allclose(tf.cast(out, tf.float32).numpy(),
                               tf.cast(keras_out, tf.float32).numpy(), atol=0.05)


def test_synchronized_statistics_use_keras_layer():
    assert type(batch_norm(synchronized=True)) is keras.layers.BatchNormalization
    assert isinstance(batch_norm(), FusedBatchNormalization)

"""The fused Adam update against Keras' own Adam/AdamW and a numpy reference."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from loops.fused_adam import FusedAdam, FusedAdamW

RNG = np.random.default_rng(0)
INITIAL = [RNG.normal(size=shape).astype(np.float32) for shape in [(3, 4), (4,), (2, 2, 3)]]
GRADIENTS = [[RNG.normal(size=w.shape).astype(np.float32) for w in INITIAL] for _ in range(5)]


def _train(optimizer: keras.optimizers.Optimizer, steps: int = 5) -> list[np.ndarray]:
    variables = [tf.Variable(w) for w in INITIAL]

    @tf.function
    def step(grads):
        optimizer.apply_gradients(zip(grads, variables))

    for grads in GRADIENTS[:steps]:
        step([tf.constant(g) for g in grads])
    return [v.numpy() for v in variables]


@pytest.mark.parametrize("fused, keras_class, kwargs", [
    (FusedAdam, keras.optimizers.Adam, {}),
    (FusedAdamW, keras.optimizers.AdamW, {"weight_decay": 0.1}),
    (FusedAdam, keras.optimizers.Adam, {"amsgrad": True}),  # Keras' own update
])
def test_fused_update_follows_keras(fused, keras_class, kwargs):
    rate = keras.optimizers.schedules.ExponentialDecay(0.01, 1, 0.5)  # changes every step
    want = _train(keras_class(rate, **kwargs))
    got = _train(fused(rate, **kwargs))
    for g, w, start in zip(got, want, INITIAL):
        assert np.abs(w - start).max() > 1e-3  # the weights moved
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-6)


def test_fused_update_matches_numpy_adam():
    lr, b1, b2, eps = 0.05, 0.9, 0.999, 1e-7
    got = _train(FusedAdam(lr, beta_1=b1, beta_2=b2, epsilon=eps), steps=2)
    for index, start in enumerate(INITIAL):
        w, m, v = start.astype(np.float64), 0.0, 0.0
        for t in (1, 2):
            g = GRADIENTS[t - 1][index]
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            w = w - lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
        np.testing.assert_allclose(got[index], w, rtol=1e-5, atol=1e-6)

"""The exponential moving average of the weights against a numpy reference."""

import numpy as np
import pytest
import tensorflow as tf

from loops.averaging import WeightAverage


def test_average_follows_the_ramped_decay():
    weights = [tf.Variable([1.0, 2.0]), tf.Variable([[3.0]])]
    average = WeightAverage(weights, decay=0.9)
    strategy = tf.distribute.get_strategy()
    expected = [w.numpy().copy() for w in weights]
    update = tf.function(lambda step: average.update(strategy, step))
    for step in range(30):
        for w in weights:
            w.assign_add(tf.ones_like(w) * (step + 1))
        update(tf.constant(step, tf.int64))
        decay = min(0.9, (1 + step) / (10 + step))
        expected = [decay * e + (1 - decay) * w.numpy() for e, w in zip(expected, weights)]
        for got, want in zip(average.ordered, expected):
            np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)
    assert update.experimental_get_tracing_count() == 1


def test_applied_swaps_in_and_restores():
    weight = tf.Variable([5.0])
    average = WeightAverage([weight], decay=0.5)
    average.ordered[0].assign([1.0])
    with average.applied():
        assert weight.numpy()[0] == 1.0
    assert weight.numpy()[0] == 5.0


def test_decay_outside_the_unit_interval_is_refused():
    with pytest.raises(ValueError, match="decay"):
        WeightAverage([tf.Variable(1.0)], decay=1.0)

"""The learning-rate schedule and the time budget that sizes it."""

import numpy as np
import pytest
import tensorflow as tf

from loops.budget import StepBudget
from loops.config import OptimizerConfig
from loops.optimizers import (WarmupCosineDecay, WarmupStepDecay, current_learning_rate,
                              make_optimizer)


def _reference_rate(step, rate, points, factor, warmup):
    decays = sum(step >= p for p in points)
    return rate * factor ** decays * (min(1.0, (step + 1) / warmup) if warmup else 1.0)


def test_fractional_decays_follow_the_planned_steps_without_retracing():
    total = tf.Variable(1000, dtype=tf.int64)
    schedule = WarmupStepDecay(2e-3, factor=0.1, warmup_steps=10, fractions=(0.7, 0.9),
                               total_steps=total)
    rate_at = tf.function(lambda step: schedule(step))
    for planned in (1000, 400):
        total.assign(planned)
        points = [round(0.7 * planned), round(0.9 * planned)]
        for step in (0, 5, 9, 10, points[0] - 1, points[0], points[1] - 1, points[1],
                     planned - 1):
            np.testing.assert_allclose(
                float(rate_at(tf.constant(step, tf.int64))),
                _reference_rate(step, 2e-3, points, 0.1, 10), rtol=1e-6, err_msg=(planned, step))
    assert rate_at.experimental_get_tracing_count() == 1


def test_cosine_decay_reaches_zero_at_the_planned_last_step():
    total = tf.Variable(200, dtype=tf.int64)
    schedule = WarmupCosineDecay(3e-3, total, warmup_steps=20)
    rate_at = tf.function(lambda step: schedule(step))
    for planned in (200, 120):
        total.assign(planned)
        for step in (0, 10, 19, 20, 50, planned // 2, planned - 1, planned, planned + 5):
            progress = min(max((step - 20) / (planned - 20), 0.0), 1.0)
            want = 3e-3 * 0.5 * (1 + np.cos(np.pi * progress)) * min(1.0, (step + 1) / 20)
            np.testing.assert_allclose(float(rate_at(tf.constant(step, tf.int64))), want,
                                       rtol=1e-5, atol=1e-9, err_msg=(planned, step))
    assert rate_at.experimental_get_tracing_count() == 1


def test_explicit_decay_steps_override_the_fractions():
    optimizer = make_optimizer(OptimizerConfig(learning_rate=1e-3, decay_steps=(3,),
                                               decay_fractions=(0.5,)), "none",
                               tf.Variable(100, dtype=tf.int64))
    optimizer.iterations.assign(3)
    np.testing.assert_allclose(float(current_learning_rate(optimizer)), 1e-4, rtol=1e-6)
    optimizer.iterations.assign(60)  # past 0.5 * 100, which does not apply
    np.testing.assert_allclose(float(current_learning_rate(optimizer)), 1e-4, rtol=1e-6)


def test_fractions_without_a_step_count_are_refused():
    with pytest.raises(ValueError, match="total number of steps"):
        WarmupStepDecay(1e-3, fractions=(0.5,))


def test_budget_plans_from_the_timed_loops_and_then_holds():
    budget = StepBudget(max_steps=10_000, budget_seconds=100.0, margin=0.9, refit_until=0.25)
    assert not budget.update(10, 30.0)  # the first loop traces and compiles: not timed
    assert budget.planned == 10_000
    assert budget.update(20, 31.0)  # 10 steps/s from here: 20 + 10 * 69 * 0.9
    assert budget.planned == 20 + int(10 * 69 * 0.9) and not budget.settled
    assert budget.update(170, 46.0)  # still 10 steps/s; 170 >= 0.25 * planned
    assert budget.planned == 170 + int(10 * 54 * 0.9) and budget.settled
    planned = budget.planned
    assert not budget.update(270, 56.0)  # as fast as planned: the plan holds
    assert not budget.update(400, 65.0)  # faster: the plan does not grow any more
    assert budget.planned == planned
    assert budget.update(420, 80.0)  # much slower: the plan shrinks to what still fits
    assert budget.planned == 420 + int((420 - 10) / (80 - 30) * 20 * 0.9) < planned


def test_budget_never_plans_more_than_asked_or_less_than_done():
    budget = StepBudget(max_steps=50, budget_seconds=1000.0)
    budget.update(5, 1.0)
    budget.update(10, 2.0)
    assert budget.planned == 50 and not budget.settled  # 10 < 0.25 * 50
    budget.update(15, 3.0)
    assert budget.planned == 50 and budget.settled
    late = StepBudget(max_steps=50, budget_seconds=3.0)
    late.update(5, 1.0)
    late.update(10, 4.0)  # over budget already
    assert late.planned == 10


def test_no_budget_means_the_steps_asked_for():
    budget = StepBudget(max_steps=300, budget_seconds=0.0)
    assert not budget.update(10, 1.0) and not budget.update(20, 2.0)
    assert budget.planned == 300

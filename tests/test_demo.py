"""The demo end to end at toy size: its compute cap sets the steps, and metrics.json records
the compute it spent."""

import json
import os

import pytest

from loops.demo import DemoConfig, compute_capped_steps, run_demo, score_shipped_models
from textscanner.charset import load_charset


def test_compute_cap_sets_the_steps_unless_fewer_are_asked():
    config = DemoConfig(batch_size=16, max_train_tflops=38.0)
    assert compute_capped_steps(config, 0.5e9) == int(38e12 / (16 * 0.5e9))
    assert compute_capped_steps(DemoConfig(batch_size=16, train_steps=10), 0.5e9) == 10


def test_a_toy_demo_records_the_training_compute_it_spent(tmp_path):
    # 6 steps of 4 images fit the cap; the cap, not train_steps, sets them.
    flops_per_image = 0.53e9  # about the 32x128 model's (checked below against the count)
    config = DemoConfig(workdir=str(tmp_path), train_samples=48, eval_samples=8,
                        batch_size=4, max_train_tflops=6.5 * 4 * flops_per_image / 1e12,
                        max_train_minutes=30, precision="none", num_predict_files=2)
    metrics = run_demo(config)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved.keys() == metrics.keys()
    assert saved["steps"] == saved["planned_steps"] == 6
    assert saved["train_images"] == 6 * 4
    assert saved["train_gflops_per_image"] == pytest.approx(0.53, rel=0.05)
    assert saved["train_tflops"] == pytest.approx(
        saved["train_images"] * saved["train_gflops_per_image"] / 1e3)
    assert saved["train_tflops"] <= config.max_train_tflops
    assert saved["input_size"] == [32, 128] and saved["num_samples"] == 8
    assert len(os.listdir(tmp_path / "samples")) == 2
    # The shipped model reads the demo's charset, so it is scored on the same 8 words; it
    # was trained far longer and reads most of them.
    shipped = saved["shipped_model_word_accuracy"]
    assert list(shipped) == ["pretrained:small-alnum36"]
    assert shipped["pretrained:small-alnum36"] * 8 >= 6
    assert float(shipped["pretrained:small-alnum36"] * 8).is_integer()


def test_only_shipped_models_that_read_the_charset_are_scored():
    # No shipped model reads case-sensitive letters, so nothing is scored (or read).
    assert score_shipped_models("/nonexistent/*", load_charset("alnum62")) == {}

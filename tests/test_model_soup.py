"""`export --average_with`: the element-wise mean of models of one network and charset."""

import shutil

import numpy as np
import pytest

from loops.model_io import export_weights, recognizer_from_checkpoint
from loops.model_soup import average_weights, average_with
from loops.recognizer import Recognizer
from tests.cli import run_main
from textscanner.charset import load_charset
from textscanner.charset_tf import CharsetLookup
from textscanner.config import DecodeConfig, ModelConfig
from textscanner.model import TextScanner


def _model_folder(folder: str, seed: int, charset: str = "alnum36", **config) -> list:
    """A model folder whose every weight, batch-norm statistics included, is random; returns
    the weights as numpy arrays."""
    chars = load_charset(charset)
    model = TextScanner(ModelConfig(num_classes=chars.num_classes, input_height=32,
                                    input_width=128, **config)).build_for_input()
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        variable.assign(rng.uniform(0.5, 1.5, variable.shape).astype(np.float32))
    export_weights(Recognizer(model, CharsetLookup(chars), DecodeConfig(), False), folder)
    return [np.asarray(w.value) for w in model.weights]


def test_the_average_is_the_mean_of_every_weight(tmp_path):
    weights = [_model_folder(str(tmp_path / name), seed) for seed, name in enumerate("abc")]
    recognizer = recognizer_from_checkpoint(str(tmp_path / "a"))
    average_weights(recognizer, [str(tmp_path / "b"), str(tmp_path / "c")])
    got = [np.asarray(w.value) for w in recognizer.model.weights]
    assert any("moving_variance" in w.path for w in recognizer.model.weights)
    for k, (value, *sources) in enumerate(zip(got, *weights)):
        np.testing.assert_allclose(value, np.mean(sources, axis=0), rtol=1e-6, err_msg=str(k))


def test_a_weighted_average_needs_shares_that_add_up_to_one(tmp_path):
    a = _model_folder(str(tmp_path / "a"), 0)
    b = _model_folder(str(tmp_path / "b"), 1)
    recognizer, other = (recognizer_from_checkpoint(str(tmp_path / n)) for n in "ab")
    with pytest.raises(ValueError, match="adding up to 1"):
        average_with(recognizer, [other], shares=[0.5, 0.6])
    average_with(recognizer, [other], shares=[0.75, 0.25])
    for value, x, y in zip(recognizer.model.weights, a, b):
        np.testing.assert_allclose(np.asarray(value.value), 0.75 * x + 0.25 * y, rtol=1e-6)


@pytest.mark.parametrize("other", [{"charset": "alnum62"}, {"order_channels": (16, 16, 16)}])
def test_another_network_or_charset_is_refused_by_name(tmp_path, other):
    _model_folder(str(tmp_path / "a"), 0)
    _model_folder(str(tmp_path / "other"), 1, **other)
    with pytest.raises(ValueError, match=f"{tmp_path}/other"):
        average_weights(recognizer_from_checkpoint(str(tmp_path / "a")), [str(tmp_path / "other")])


def test_export_averages_through_the_command_line(tmp_path):
    a = _model_folder(str(tmp_path / "a"), 0)
    b = _model_folder(str(tmp_path / "b"), 1)
    out = run_main("export", f"--model_dir={tmp_path}/a", f"--average_with={tmp_path}/b",
                   f"--export_dir={tmp_path}/soup", "--weights_only")
    assert "averaged the weights" in out.stdout
    got = recognizer_from_checkpoint(str(tmp_path / "soup")).model.weights
    for value, x, y in zip(got, a, b):
        np.testing.assert_allclose(np.asarray(value.value), (x + y) / 2, rtol=1e-6)


def test_a_finished_run_is_read_as_its_average_with_its_start(tmp_path):
    """`train` records the weights a run started from and, when it ends, writes the weighted
    mean of its newest checkpoint and them (the start's weight 0.25 by default, or the given
    share): what evaluate, predict and export then read, until the run has a newer
    checkpoint."""
    import tensorflow as tf

    from loops import start_average
    from loops.checkpoints import ModelWeights
    start = _model_folder(str(tmp_path / "start"), 0)
    run_dir = str(tmp_path / "run")
    trained = _model_folder(run_dir, 1)
    assert start_average.write_average(run_dir) is None  # a run from scratch: nothing to do
    start_model = recognizer_from_checkpoint(str(tmp_path / "start")).model
    start_average.record_start(run_dir, str(tmp_path / "start"), start_model)
    folder = start_average.write_average(run_dir)
    assert folder == start_average.current_average(run_dir)
    assert folder == start_average.current_average(run_dir, start_share=0.25)
    assert start_average.current_average(run_dir, start_share=0.5) is None  # another share
    read = recognizer_from_checkpoint(run_dir).model.weights
    for value, x, y in zip(read, start, trained):
        np.testing.assert_allclose(np.asarray(value.value), 0.25 * x + 0.75 * y, rtol=1e-6)
    assert start_average.write_average(run_dir, start_share=0.5) == folder
    read = recognizer_from_checkpoint(run_dir).model.weights
    for value, x, y in zip(read, start, trained):
        np.testing.assert_allclose(np.asarray(value.value), (x + y) / 2, rtol=1e-6)
    latest = tf.train.latest_checkpoint(run_dir)
    alone = recognizer_from_checkpoint(run_dir, checkpoint=latest).model.weights
    for value, y in zip(alone, trained):
        np.testing.assert_allclose(np.asarray(value.value), y, rtol=1e-6)
    # Trained further: a newer checkpoint, which is read as it is until the run ends again.
    model = recognizer_from_checkpoint(run_dir, checkpoint=latest).model
    checkpoint = tf.train.Checkpoint(model=model, model_weights=ModelWeights(model))
    tf.train.CheckpointManager(checkpoint, run_dir, max_to_keep=3).save(checkpoint_number=2)
    assert start_average.current_average(run_dir) is None
    for value, y in zip(recognizer_from_checkpoint(run_dir).model.weights, trained):
        np.testing.assert_allclose(np.asarray(value.value), y, rtol=1e-6)


def test_the_commands_read_a_run_alone_with_noaverage_with_start(tmp_path):
    """evaluate, predict and export read a finished run's average with its start; given
    --noaverage_with_start, they read the run's newest checkpoint (here through export)."""
    from loops import start_average
    start = _model_folder(str(tmp_path / "start"), 0)
    run_dir = str(tmp_path / "run")
    trained = _model_folder(run_dir, 1)
    start_model = recognizer_from_checkpoint(str(tmp_path / "start")).model
    start_average.record_start(run_dir, str(tmp_path / "start"), start_model)
    assert start_average.write_average(run_dir)
    for flags, want in [([], [0.25 * x + 0.75 * y for x, y in zip(start, trained)]),
                        (["--noaverage_with_start"], trained)]:
        out_dir = f"{tmp_path}/out{len(flags)}"
        run_main("export", f"--model_dir={run_dir}", f"--export_dir={out_dir}", "--weights_only",
                 *flags)
        got = recognizer_from_checkpoint(out_dir).model.weights
        for value, expected in zip(got, want):
            np.testing.assert_allclose(np.asarray(value.value), expected, rtol=1e-6)


def test_a_start_that_changed_since_is_not_averaged_with(tmp_path):
    """The start's folder holds other weights when the run ends (a shipped model updated, a
    start trained further): no average is written and the run is read as it is. The same
    weights written again are still the start."""
    from loops import start_average
    _model_folder(str(tmp_path / "start"), 0)
    run_dir = str(tmp_path / "run")
    trained = _model_folder(run_dir, 1)
    start_model = recognizer_from_checkpoint(str(tmp_path / "start")).model
    start_average.record_start(run_dir, str(tmp_path / "start"), start_model)
    _model_folder(str(tmp_path / "start"), 0)  # rewritten, same weights
    assert start_average.write_average(run_dir) is not None
    _model_folder(str(tmp_path / "start"), 2)  # other weights under the same name
    shutil.rmtree(tmp_path / "run" / start_average.AVERAGE_DIR)
    assert start_average.write_average(run_dir) is None
    assert start_average.current_average(run_dir) is None
    for value, y in zip(recognizer_from_checkpoint(run_dir).model.weights, trained):
        np.testing.assert_allclose(np.asarray(value.value), y, rtol=1e-6)

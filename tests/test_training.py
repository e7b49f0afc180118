"""The training loop through `main.py train`, in real processes: resume after SIGKILL,
SIGTERM, precision options, export vs checkpoint (mirrored vs default: test_mirrored.py)."""

import csv
import fcntl
import io
import json
import os
import re
import signal
import time

import numpy as np
import pytest
import tensorflow as tf

from loops import pretrained
from tests.cli import logged_losses, run_main, start_main, synth_words
from tests.helpers import compiled_inference
from textscanner.config import ModelConfig

# Half the paper's input side: a quarter of the compute, the same code paths.
SMALL_INPUT = ["--input_height=32", "--input_width=128"]
SMALL_MODEL = ModelConfig(input_height=32, input_width=128)
TRAIN_FLAGS = [*SMALL_INPUT, "--batch_size=4", "--steps_per_loop=5", "--checkpoint_every=10",
               "--image_summary_every=10", "--deterministic", "--seed=3", "--noaugment",
               "--learning_rate=2e-3", "--ema_decay=0.9", "--mixed_precision=none"]


# Session scope: xdist interleaves modules on a worker, and pytest would rebuild a module
# fixture each time its module came back.
@pytest.fixture(scope="session")
def synth_data(tmp_path_factory):
    return synth_words(tmp_path_factory.mktemp("data"), "train", 64, 2, 5)


def _variables(model_dir, step=None):
    path = tf.train.latest_checkpoint(model_dir) if step is None else f"{model_dir}/ckpt-{step}"
    reader = tf.train.load_checkpoint(path)
    return {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
            if k.startswith(("model/", "model_weights/", "optimizer/", "average/"))}


def _train(model_dir, data, steps, *extra, **kw):
    return run_main("train", f"--train_data={data}", f"--model_dir={model_dir}",
                    f"--train_steps={steps}", *TRAIN_FLAGS, *extra, **kw)


@pytest.fixture(scope="session")
def trained_model_dir(tmp_path_factory, synth_data):
    """30 uninterrupted steps with TRAIN_FLAGS, trained once for all xdist workers (under a
    lock in the folder they share) and only read by the tests."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    model_dir = shared / "trained_model"
    with open(shared / "trained_model.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (model_dir / "complete").exists():
            _train(str(model_dir), synth_data, 30)
            (model_dir / "complete").touch()
    return str(model_dir)


def test_sigkill_then_restart_continues_exactly(tmp_path, synth_data, trained_model_dir):
    """Killed after its first checkpoint and restarted, a run ends where the uninterrupted
    reference did (which also wrote image summaries: they leave training untouched)."""
    reference = trained_model_dir
    no_images = "--image_summary_every=0"

    resumed = str(tmp_path / "resumed")
    proc = start_main("train", f"--train_data={synth_data}", f"--model_dir={resumed}",
                      "--train_steps=30", *TRAIN_FLAGS, no_images)
    deadline = time.time() + 240
    # The index file appears before the `checkpoint` state file names it: wait for both.
    while tf.train.latest_checkpoint(resumed) is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert os.path.exists(f"{resumed}/ckpt-10.index")
    killed_at = int(tf.train.latest_checkpoint(resumed).rsplit("-", 1)[1])
    assert killed_at < 30, "the run finished before it could be killed"

    out = _train(resumed, synth_data, 30, no_images)
    assert f"restored {resumed}/ckpt-{killed_at}" in out.stderr
    final = json.loads(out.stdout.strip().splitlines()[-1])
    assert final["step"] == 30
    ref, got = _variables(reference), _variables(resumed)
    assert ref.keys() == got.keys() and any("optimizer/" in k for k in ref)
    assert any(k.startswith("average/") for k in ref)
    for key in ref:  # weights, Adam moments, iteration count and weight averages all match
        np.testing.assert_allclose(got[key], ref[key], rtol=1e-5, atol=1e-6, err_msg=key)


def test_sigterm_stops_after_the_current_step_and_saves(tmp_path, synth_data):
    """SIGTERM mid-loop: the compiled loop of 1,000 steps stops after the step it is in."""
    model_dir = str(tmp_path / "m")
    flags = [f for f in TRAIN_FLAGS if not f.startswith("--steps_per_loop")]
    proc = start_main("train", f"--train_data={synth_data}", f"--model_dir={model_dir}",
                      "--train_steps=100000", "--steps_per_loop=1000", *flags)
    deadline = time.time() + 240
    while not os.path.exists(f"{model_dir}/model_spec.json") and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(8)  # into the first loop (a signal before it would stop after step 1)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, stderr[-2000:]
    final = json.loads(stdout.strip().splitlines()[-1])
    step = final["step"]
    assert final["stopped_by"] == "SIGTERM"
    assert 1 <= step < 1000 and tf.train.latest_checkpoint(model_dir).endswith(f"ckpt-{step}")
    assert "received SIGTERM: stopping after the current step" in stderr


def test_a_new_run_starts_from_the_shipped_model_that_fits_it(tmp_path, synth_data):
    """`train`'s default --init_checkpoint=auto on the default network and charset: the run
    starts from the shipped model's weights (a learning rate of 1e-9 keeps them for two
    steps). In bfloat16, whose float32 weights stay comparable, with finite losses."""
    out = run_main("train", f"--train_data={synth_data}", f"--model_dir={tmp_path}/m",
                   "--train_steps=2", "--steps_per_loop=1", "--batch_size=2",
                   "--learning_rate=1e-9", "--warmup_steps=0", "--noaugment",
                   "--mixed_precision=bfloat16", "--image_summary_every=0",
                   f"--eval_data={synth_data}", "--eval_batches=1")
    shipped_name = "pretrained:small-alnum36"
    final = json.loads(out.stdout.strip().splitlines()[-1])
    assert final["initialised_from"] == shipped_name and final["step"] == 2
    # and, finished, its average with the shipped model, which the model folder now reads
    assert final["average_with_start"] == f"{tmp_path}/m/average_with_start"
    made_from = json.loads(open(f"{tmp_path}/m/average_with_start/made_from.json").read())
    assert made_from == {"checkpoint": "ckpt-2", "start": shipped_name, "start_share": 0.25}
    # scored at the end as evaluate --model_dir reads the folder
    from loops.evaluation import evaluate_dataset
    from loops.model_io import recognizer_from_checkpoint
    from textscanner.charset import load_charset
    scored = final["eval_average_with_start"]
    read = evaluate_dataset(recognizer_from_checkpoint(str(tmp_path / "m")), synth_data,
                            load_charset("alnum36"), max_batches=1).to_json()
    assert scored["num_samples"] == read["num_samples"] > 0
    for key in ("word_accuracy", "one_minus_ned", "char_precision", "char_recall"):
        assert scored[key] == pytest.approx(read[key], abs=1e-6), key
    assert "evaluation (average_with_start) at step 2" in out.stderr
    assert f"initialised weights from {shipped_name}" in out.stderr
    losses = logged_losses(out.stderr)
    assert len(losses) == 2 and all(np.isfinite(losses))
    from loops.checkpoints import restore_weights_only
    from loops.model_io import load_spec
    from textscanner.model import TextScanner
    config = load_spec(str(tmp_path / "m"))[0]
    shipped, trained, scratch = (TextScanner(config) for _ in range(3))
    for model in (shipped, trained, scratch):
        model.build_for_input()
    restore_weights_only(shipped, pretrained.resolve(shipped_name))
    restore_weights_only(trained, str(tmp_path / "m"))
    for a, b, c in zip(shipped.trainable_variables, trained.trainable_variables,
                       scratch.trainable_variables):
        np.testing.assert_allclose(b.numpy(), a.numpy(), atol=1e-6, err_msg=a.path)
    assert not np.allclose(scratch.trainable_variables[0].numpy(),
                           shipped.trainable_variables[0].numpy(), atol=1e-3)


def test_a_float16_run_on_two_replicas_finishes_with_finite_loss(tmp_path, synth_data):
    """float16 as on a multi-GPU box: loss scaling under MirroredStrategy, the CLI's flags
    splitting the CPU into two devices before TensorFlow starts (bfloat16: the warm-start
    test above)."""
    model_dir = tmp_path / "float16"
    out = _train(str(model_dir), synth_data, 2, "--mixed_precision=float16", "--batch_size=2",
                 "--steps_per_loop=1", "--nodeterministic", "--strategy=mirrored",
                 "--cpu_devices=2")
    assert json.loads(out.stdout.strip().splitlines()[-1])["step"] == 2
    assert "strategy mirrored (MirroredStrategy) with 2 replica(s)" in out.stderr
    losses = logged_losses(out.stderr)
    assert len(losses) == 2 and all(np.isfinite(losses))
    assert os.listdir(model_dir / "train")  # the loss scale is logged to TensorBoard


def test_checkpoint_and_savedmodel_predict_identically(tmp_path, synth_data,
                                                       trained_model_dir):
    from PIL import Image

    from pipelines.convert import ConvertConfig, convert
    model_dir, export_dir = trained_model_dir, str(tmp_path / "export")
    run_main("export", f"--model_dir={model_dir}", f"--export_dir={export_dir}")
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for i, fmt in enumerate(["PNG", "JPEG", "BMP"]):
        Image.fromarray(rng.integers(0, 255, (30, 90, 3), dtype=np.uint8)).save(
            images / f"{i}.{fmt.lower()}", format=fmt)
    (images / "broken.png").write_bytes(b"not an image")
    from_ckpt = run_main("predict", f"--model_dir={model_dir}", str(images / "*"), check=False)
    from_saved = run_main("predict", f"--saved_model={export_dir}", str(images / "*"),
                          check=False)
    assert from_ckpt.returncode == from_saved.returncode == 1  # the broken file
    assert "broken.png: cannot decode image" in from_saved.stderr
    lines = from_ckpt.stdout.strip().splitlines()
    assert len(lines) == 3 and all(len(line.split("\t")) == 3 for line in lines)
    assert from_ckpt.stdout == from_saved.stdout

    # A benchmark-like set with labels outside alnum36: a training set leaves their
    # punctuation out (and rejects the 31 characters), an evaluation set keeps every label
    # as given, and evaluate scores every record.
    labels = ["Gt.", "(A12)", "[falling", "ok", "x" * 31, "EXIT"]
    for i, _ in enumerate(labels):
        Image.fromarray(rng.integers(0, 255, (20, 60, 3), dtype=np.uint8)).save(
            images / f"w{i}.png")
    (tmp_path / "bench.tsv").write_text("".join(f"images/w{i}.png\t{t}\n"
                                                for i, t in enumerate(labels)))
    for evaluation_set, kept, relabelled in ((False, 5, 3), (True, len(labels), 0)):
        report = convert(ConvertConfig("tsv", f"{tmp_path}/bench.tsv",
                                       f"{tmp_path}/{evaluation_set}/bench", num_shards=1,
                                       num_workers=1, evaluation_set=evaluation_set))
        assert report.written == kept and report.relabelled == relabelled
    data = f"{synth_data},bench={tmp_path}/True/bench-*"
    metrics, outputs, readings = [], [], []
    for source in (f"--model_dir={model_dir}", f"--saved_model={export_dir}"):
        path = tmp_path / f"metrics{len(metrics)}.json"
        table = tmp_path / f"readings{len(metrics)}.tsv"
        outputs.append(run_main("evaluate", source, f"--data={data}", f"--metrics_json={path}",
                                f"--predictions_tsv={table}").stdout)
        metrics.append(json.loads(path.read_text()))
        readings.append(table.read_text())
    first, second = metrics  # one entry per glob and their total
    for scores in (*first.values(), *second.values()):
        assert scores.pop("images_per_second") > 0
    assert first == second
    bench = first["bench"]
    assert bench["num_samples"] == len(labels) and bench["num_outside_charset"] == 3
    assert first[synth_data]["num_samples"] == 64
    assert first["total"]["num_samples"] == 64 + len(labels)
    assert first["total"]["word_rule"] == "case_insensitive_alphanumeric"
    assert all("num_outside_charset" in out for out in outputs)

    # --predictions_tsv: a row for every record, in the files' order, the label as given;
    # "correct" follows the benchmarks' rule and averages to each set's word accuracy.
    assert readings[0] == readings[1]
    rows = list(csv.reader(io.StringIO(readings[0]), delimiter="\t"))
    assert rows[0] == ["set", "source", "label", "prediction", "confidence", "correct"]
    rows = rows[1:]
    assert [r[0] for r in rows] == [synth_data] * 64 + ["bench"] * len(labels)
    assert [r[2] for r in rows[64:]] == labels
    assert [r[1] for r in rows[64:]] == [f"{tmp_path}/bench.tsv:{i + 1}"
                                         for i in range(len(labels))]

    def rule(text):
        return re.sub("[^0-9a-z]", "", text.lower())

    for name in (synth_data, "bench"):
        correct = [int(r[5]) for r in rows if r[0] == name]
        assert np.mean(correct) == pytest.approx(first[name]["word_accuracy"])
    assert all(int(r[5]) == (rule(r[3]) == rule(r[2])) for r in rows)
    assert all(0.0 <= float(r[4]) <= 1.0 for r in rows)


@pytest.fixture(scope="session")
def averaged_trainer(tmp_path_factory, synth_data):
    """A Trainer of this process after 6 steps in loops of 4 and 2, its weights averaged with
    decay 0.5, drawing from two globs by the square roots' rule; the tests only read it."""
    from loops.config import TrainConfig
    from loops.trainer import Trainer
    trainer = Trainer(TrainConfig(model_dir=str(tmp_path_factory.mktemp("averaged")),
                                  train_data=f"{synth_data},{synth_data}",
                                  train_data_shares="sqrt", batch_size=4, model=SMALL_MODEL,
                                  train_steps=6, steps_per_loop=4, augment=None,
                                  ema_decay=0.5))
    trainer.train()
    return trainer


def test_the_input_draws_from_each_glob_by_the_configured_rule(averaged_trainer):
    pipeline = averaged_trainer.runner.pipeline
    assert pipeline.config.share_rule == "sqrt"
    assert len(pipeline.sources) == 2 and pipeline.source_weights == pytest.approx((0.5, 0.5))


def test_train_loop_is_traced_once(averaged_trainer):
    runner = averaged_trainer.runner
    assert runner.current_step == 6  # a loop of 4 steps, then one of 2
    assert runner.num_traces == 1


def test_model_restored_in_a_fresh_process_reads_like_the_trained_one(averaged_trainer,
                                                                      synth_data):
    """The trained model in memory, its averages applied, and the one rebuilt from its
    checkpoint (as evaluate, predict and export do) give identical outputs."""
    from loops.model_io import recognizer_from_checkpoint
    from pipelines.dataset import InputConfig, InputPipeline
    runner = averaged_trainer.runner
    batch = next(iter(InputPipeline(InputConfig(synth_data, global_batch_size=4,
                                                is_training=False, image_height=32,
                                                image_width=128), runner.charset)()))
    with runner.average.applied():
        expected = compiled_inference(runner.model)(batch["image"])
    restored = recognizer_from_checkpoint(runner.config.model_dir)
    got = compiled_inference(restored.model)(batch["image"])
    for key in expected:
        np.testing.assert_array_equal(got[key].numpy(), expected[key].numpy(), err_msg=key)


def test_weights_only_export_reads_like_its_checkpoint(tmp_path, trained_model_dir):
    """export --weights_only keeps the averaged weights and nothing of the optimizer; the
    folder is a model folder for evaluate/predict/export and warm starts."""
    from loops.model_io import export_weights, recognizer_from_checkpoint
    source = recognizer_from_checkpoint(trained_model_dir)  # trained with --ema_decay
    path = export_weights(source, str(tmp_path / "weights"))
    names = tf.train.load_checkpoint(path).get_variable_to_shape_map()
    assert names and not any(n.startswith(("optimizer/", "average/")) for n in names)
    images = tf.random.stateless_uniform([3, 32, 128, 3], seed=[1, 2])
    copy = recognizer_from_checkpoint(str(tmp_path / "weights"))
    expected = compiled_inference(source.model)(images)
    got = compiled_inference(copy.model)(images)
    for key in expected:
        np.testing.assert_array_equal(got[key].numpy(), expected[key].numpy(), err_msg=key)
    assert copy.lookup.charset.chars == source.lookup.charset.chars


def test_checkpoint_missing_variables_is_refused(tmp_path):
    """A checkpoint that does not provide every variable fails loudly instead of leaving
    random weights behind (Keras 3 + tf.train.Checkpoint would stay silent)."""
    from loops.checkpoints import restore_weights_only
    from textscanner.config import ModelConfig
    from textscanner.model import TextScanner
    small = TextScanner(ModelConfig(num_classes=5)).build_for_input()
    tf.train.Checkpoint(model=small).save(str(tmp_path / "model_only"))  # no weight list
    fresh = TextScanner(ModelConfig(num_classes=5)).build_for_input()
    with pytest.raises(ValueError, match="did not restore"):
        restore_weights_only(fresh, str(tmp_path))


def test_weight_average_is_what_evaluation_reads(averaged_trainer):
    """With --ema_decay the checkpoint keeps the averages; the model that evaluate, predict
    and export rebuild from it has the averaged trainable weights, the raw BN statistics."""
    from loops.model_io import recognizer_from_checkpoint
    runner = averaged_trainer.runner
    raw = [v.numpy() for v in runner.model.trainable_variables]
    averaged = [v.numpy() for v in runner.average.ordered]
    assert any(not np.allclose(a, r) for a, r in zip(averaged, raw))
    restored = recognizer_from_checkpoint(runner.config.model_dir).model
    for got, want in zip(restored.trainable_variables, averaged):
        np.testing.assert_array_equal(got.numpy(), want)
    trainable = {id(v) for v in runner.model.trainable_variables}
    for got, want in zip(restored.weights, runner.model.weights):
        if id(want) not in trainable:  # batch-norm moving statistics
            np.testing.assert_array_equal(got.numpy(), want.numpy())
    with runner.average.applied():  # the swap used by periodic evaluation
        for v, want in zip(runner.model.trainable_variables, averaged):
            np.testing.assert_array_equal(v.numpy(), want)
    for v, want in zip(runner.model.trainable_variables, raw):
        np.testing.assert_array_equal(v.numpy(), want)


def test_a_binding_time_budget_still_finishes_the_schedule(tmp_path, synth_data, caplog):
    """Far more steps asked for than the budget allows: the run measures its throughput,
    plans the steps that fit, decays at 70% and 90% of them and ends at the plan, not cut
    off by the budget with its rate undecayed."""
    from loops.config import OptimizerConfig, TrainConfig
    from loops.trainer import Trainer
    asked = 1_000_000
    trainer = Trainer(TrainConfig(
        model_dir=str(tmp_path), train_data=synth_data, batch_size=4, model=SMALL_MODEL,
        train_steps=asked, max_train_seconds=8, steps_per_loop=4,
        checkpoint_every=1_000_000, image_summary_every=0, augment=None,
        optimizer=OptimizerConfig(learning_rate=1e-3, decay_fractions=(0.7, 0.9))))
    # Trace the loop beforehand (zero steps), so that a busy machine's tracing time does not
    # eat this short budget before the first timed loop.
    trainer.runner.train(0)
    assert trainer.runner.current_step == 0
    with caplog.at_level("INFO", logger="loops.controller"):
        final = trainer.train()
    planned = final["planned_steps"]
    assert 8 <= planned < asked and final["step"] == planned
    assert "time budget" not in caplog.text
    said = [int(n) for n in re.findall(rf"will train (\d+) steps \(of the {asked} asked for\)",
                                       caplog.text)]
    assert said and planned <= said[-1] <= 1.02 * planned  # said again if it moves more
    np.testing.assert_allclose(trainer.runner.learning_rate(), 1e-5, rtol=1e-5)
    reader = tf.train.load_checkpoint(str(tmp_path))
    saved = {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
             if k.startswith("planned_steps")}
    assert list(saved.values()) == [planned]


def test_image_summaries_show_the_predicted_maps_at_their_cadence(trained_model_dir):
    """30 steps with --image_summary_every=10: colour maps and the read texts at 10, 20, 30."""
    steps = {"predicted_maps": [], "truth_vs_prediction": []}
    shapes = []
    for path in tf.io.gfile.glob(os.path.join(trained_model_dir, "train", "events.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag in steps:
                    steps[value.tag].append(event.step)
                    if value.tag == "predicted_maps":
                        images = tf.make_ndarray(value.tensor)  # [width, height, png...]
                        shapes.append(tf.image.decode_png(images[2]).shape)
    assert sorted(steps["predicted_maps"]) == [10, 20, 30]
    assert sorted(steps["truth_vs_prediction"]) == [10, 20, 30]
    assert all(shape[-1] == 3 for shape in shapes)  # in colour

"""The command line as a user runs it: usage errors, flag files, data commands."""

import json

import numpy as np
import pytest
from PIL import Image

from tests.cli import run_main, synth_words


def test_unknown_and_missing_command_list_the_commands():
    for args in (["frobnicate"], []):
        out = run_main(*args, check=False)
        assert out.returncode != 0
        assert "synth, convert, inspect, train, evaluate, predict, export, benchmark, demo" \
            in out.stderr


def test_helpfull_lists_flags_of_every_command():
    out = run_main("--helpfull", check=False)  # absl exits 1 after printing help
    for flag in ("--input_format", "--train_data", "--mixed_precision", "--strategy",
                 "--saved_model", "--export_dir", "--what", "--workdir"):
        assert flag in out.stdout


def test_synth_convert_inspect_through_the_cli(tmp_path):
    flagfile = tmp_path / "synth.flags"
    flagfile.write_text(f"--output={tmp_path}/s\n--num_samples=40\n--num_shards=2\n")
    out = _run_checked("synth", f"--flagfile={flagfile}", "--num_workers=1")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "s-00001-of-00002.tfrecord").exists()
    # TensorFlow wrote the records without Keras pulling matplotlib in at its import
    # (loops/lean_imports.py), and synth still drew with matplotlib's font files.
    assert "tensorflow imported: True" in out.stdout
    assert "matplotlib imported: False" in out.stdout
    assert "--num_samples=40" in (tmp_path / "flags.txt").read_text()

    Image.new("RGB", (40, 16), (200, 10, 10)).save(tmp_path / "a.png")
    (tmp_path / "labels.tsv").write_text("a.png\tred\nmissing.png\tx\n")
    out = run_main("convert", "--input_format=tsv", f"--input={tmp_path}/labels.tsv",
                   f"--output={tmp_path}/c", "--num_shards=1")
    assert "wrote 1 records" in out.stdout and "missing_image=1" in out.stdout
    strict = run_main("convert", "--input_format=tsv", f"--input={tmp_path}/labels.tsv",
                      f"--output={tmp_path}/c2", "--num_shards=1", "--strict", check=False)
    assert strict.returncode == 1
    report = json.loads((tmp_path / "c2.report.json").read_text())
    assert report["skipped_by_reason"] == {"missing_image": 1}

    for extra in ([], ["--augment"]):  # the default is the README's command
        run_main("inspect", f"--data={tmp_path}/s-*", f"--output={tmp_path}/grid.png",
                 "--num_images=4", *extra)
        assert Image.open(tmp_path / "grid.png").size[0] > 256
        (tmp_path / "grid.png").unlink()


@pytest.fixture(scope="module")
def synth_records(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synth")
    synth_words(folder, "s", num_samples=40, num_shards=2, max_length=12)
    return folder


def test_benchmark_input_through_the_cli(synth_records):
    tmp_path = synth_records
    out = run_main("benchmark", "--what=input", f"--data={tmp_path}/s-*", "--batch_size=8",
                   "--steps=3")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["what"] == "input" and result["images_per_second"] > 0
    assert result["floor_images_per_second"] > 0 and result["python_loader_images_per_second"] > 0


def test_benchmark_train_through_the_cli(synth_records):
    """Three processes (compiled, eager, constant batch), a few steps each."""
    tmp_path = synth_records
    out = run_main("benchmark", "--what=train", f"--data={tmp_path}/s-*", "--batch_size=4",
                   "--steps=2", "--noaugment", "--input_height=32", "--input_width=128")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["what"] == "train" and result["steps"] == 2
    assert result["input_size"] == [32, 128]
    # Compute counted from the graph, and this machine's matmul peak beside it.
    assert 0.3 < result["train_gflop_per_image"] < 1.0
    np.testing.assert_allclose(result["achieved_gflops"], result["images_per_second"]
                               * result["train_gflop_per_image"], rtol=0.01)
    np.testing.assert_allclose(result["fraction_of_peak"], result["achieved_gflops"]
                               / result["matmul_peak_gflops"], rtol=0.02, atol=0.002)
    assert "of this machine's float32 matmul peak" in out.stdout
    for key in ("images_per_second", "eager_images_per_second",
                "constant_batch_images_per_second"):
        assert result[key] > 0, key
    assert abs(result["compiled_over_eager"]
               - result["images_per_second"] / result["eager_images_per_second"]) < 0.02


# ---- a user error: status 2, one line naming the flag and the rule, before TensorFlow -----
_CHECK_IMPORTS = """
import runpy, sys
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
finally:
    print("tensorflow imported:", "tensorflow" in sys.modules)
    print("matplotlib imported:", sys.modules.get("matplotlib") is not None)
"""


def _run_checked(*args):
    """main.py in a process that reports whether TensorFlow and matplotlib were imported."""
    import subprocess
    import sys
    from tests.cli import MAIN, env
    return subprocess.run([sys.executable, "-c", _CHECK_IMPORTS, MAIN, *args],
                          capture_output=True, text=True, timeout=120, env=env())


def _report_folder(tmp_path):
    """What convert leaves in a folder: shards and a report."""
    from tests.conftest import write_image
    write_image(tmp_path / "a.png")
    (tmp_path / "labels.tsv").write_text("a.png\tok\n")
    run_main("convert", f"--input={tmp_path}/labels.tsv", f"--output={tmp_path}/data/d",
             "--num_shards=2")
    return tmp_path / "data"


@pytest.mark.parametrize("args,flag,rule", [
    (["train", "--batch_size=0"], "--batch_size=0", "not a positive integer"),
    (["train", "--learning_rate=-1"], "--learning_rate", "must be > 0"),
    (["train", "--loss_weights=a,b"], "--loss_weights", "comma-separated numbers"),
    (["train", "--loss_weights=1,2"], "--loss_weights", "3 or 4 numbers"),
    (["train", "--charset=/no/such/charset.txt"], "--charset", "nor an existing file"),
    (["predict", "--saved_model=/no/such/model", "x.png"], "--saved_model", "no saved_model.pb"),
    (["evaluate", "--data=/no/such/*.tfrecord"], "--data", "no files match"),
    (["synth", "--output=x", "--num_shards=-1"], "--num_shards", ""),
    (["synth", "--output=x", "--font=/no/such.ttf"], "--font",
     "neither a font file, a folder, 'default' nor 'system'"),
    (["synth", "--output=x", "--min_length=9", "--max_length=3"], "min_length", "more than"),
    (["train", "--lr_decay_steps=9,x"], "--lr_decay_steps", "whole numbers"),
    (["train", "--ema_decay=1.5"], "--ema_decay", ""),
    (["train", "--lr_decay_fractions=0.9,0.7"], "--lr_decay_fractions", "increase"),
    (["train", "--input_height=48"], "--input_height", "multiple of 32"),
    (["train", "--backbone=vgg"], "--backbone", "unknown backbone 'vgg'"),
    (["train", "--order_channels=8,16"], "--order_channels", "3 positive integers"),
    (["convert", "--input=/no/such/labels.tsv", "--output=x"], "--input", "does not exist"),
    (["convert", "--input=/", "--output=x", "--label_encoding=klingon"], "--label_encoding",
     "not a text encoding"),
    (["convert", "--input=/", "--output=x", "--subset=val"], "--subset",
     "not of --input_format=tsv"),
    (["train", "--model_dir=m"], "--train_data", "needs"),
    (["train", "--init_checkpoint=pretrained:nope"], "--init_checkpoint",
     "no pretrained model 'nope'; shipped: pretrained:"),
    (["train", "--train_data_weights=1,x"], "--train_data_weights",
     "equal, sqrt, records or comma-separated numbers"),
    (["train", "--train_data_weights=sqrt,equal"], "--train_data_weights",
     "equal, sqrt, records or comma-separated numbers"),
    (["train", "--train_data_weights=0.5,0"], "--train_data_weights", "must be > 0"),
    (["export", "--average_with=/no/such/model"], "--average_with", "is not a model folder"),
    (["convert", "--input=/", "--output=/tmp/x", "--pseudo_boxes_from=/no/such/model"],
     "--pseudo_boxes_from", "is not a model folder"),
    (["convert", "--input=/", "--output=/tmp/x", "--evaluation_set",
      "--pseudo_boxes_from=pretrained:small-alnum36"], "--pseudo_boxes_from", "training sets"),
    (["frobnicate"], "unknown command", "synth, convert"),
])
def test_user_errors_exit_2_with_one_line_before_tensorflow(args, flag, rule):
    out = _run_checked(*args)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert flag in lines[0] and rule in lines[0]
    assert "tensorflow imported: False" in out.stdout


def test_one_weight_per_training_glob(tmp_path):
    for name in "abc":
        (tmp_path / f"{name}.tfrecord").write_bytes(b"")  # an empty shard is a valid file
    globs = ",".join(str(tmp_path / f"{name}*") for name in "abc")
    out = _run_checked("train", f"--train_data={globs}", "--train_data_weights=1,2",
                       f"--model_dir={tmp_path}/m")
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "--train_data_weights has 2 weight(s) for 3 --train_data glob(s)" in out.stderr
    assert "tensorflow imported: False" in out.stdout


def _train_config(tmp_path, flag: list[str]):
    """The TrainConfig that `train` builds from `flag` and two globs of empty shards."""
    from absl import flags as absl_flags

    import flags.definitions  # noqa: F401  (defines the flags)
    from flags import configs
    for name in "ab":
        (tmp_path / f"{name}.tfrecord").write_bytes(b"")  # an empty shard is a valid file
    globs = ",".join(str(tmp_path / f"{name}*") for name in "ab")
    FLAGS = absl_flags.FLAGS
    FLAGS(["main.py", f"--train_data={globs}", *flag])
    try:
        return configs.train_config(str(tmp_path / "m"))
    finally:
        FLAGS.unparse_flags()


@pytest.mark.parametrize("flag, weights, rule", [
    ([], (), "equal"),
    (["--train_data_weights=sqrt"], (), "sqrt"),
    (["--train_data_weights=records"], (), "records"),
    (["--train_data_weights=1,3"], (1.0, 3.0), "equal"),
])
def test_train_data_weights_reach_the_train_config(tmp_path, flag, weights, rule):
    """--train_data_weights is a share rule (equal by default) or one weight per glob."""
    config = _train_config(tmp_path, flag)
    assert (config.train_data_weights, config.train_data_shares) == (weights, rule)


def test_a_glob_that_matches_a_report_names_it(tmp_path):
    folder = _report_folder(tmp_path)
    assert (folder / "d.report.json").exists()
    out = _run_checked("train", f"--train_data={folder}/*", f"--model_dir={tmp_path}/m")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert f"{folder}/d.report.json is not a TFRecord file" in out.stderr
    assert "tensorflow imported: False" in out.stdout
    # the pipeline itself refuses such a file too, naming it (library use, no flags)
    from pipelines.dataset import InputConfig, InputPipeline
    from pipelines.tfrecord_files import NotATFRecordFile
    from textscanner.charset import load_charset
    with pytest.raises(NotATFRecordFile, match="d.report.json"):
        InputPipeline(InputConfig(f"{folder}/*"), load_charset("alnum36"))
    InputPipeline(InputConfig(f"{folder}/*.tfrecord"), load_charset("alnum36"))  # empty shard ok


@pytest.mark.parametrize("flag, share", [([], 0.25), (["--start_share=0.5"], 0.5)])
def test_start_share_reaches_the_train_config(tmp_path, flag, share):
    """--start_share: the start's weight in the average with the start (0.25 by default)."""
    assert _train_config(tmp_path, flag).start_share == share

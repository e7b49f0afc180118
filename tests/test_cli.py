"""The command line as a user runs it: usage errors, flag files, data commands."""

import json

from PIL import Image

from tests.cli import run_main


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


def test_synth_convert_inspect_benchmark_through_the_cli(tmp_path):
    flagfile = tmp_path / "synth.flags"
    flagfile.write_text(f"--output={tmp_path}/s\n--num_samples=40\n--num_shards=2\n")
    run_main("synth", f"--flagfile={flagfile}", "--num_workers=1")
    assert (tmp_path / "s-00001-of-00002.tfrecord").exists()
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

    out = run_main("benchmark", "--what=input", f"--data={tmp_path}/s-*", "--batch_size=8",
                   "--steps=3")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["what"] == "input" and result["images_per_second"] > 0
    assert result["floor_images_per_second"] > 0 and result["python_loader_images_per_second"] > 0

    # Three processes (compiled, eager, constant batch), a few steps each.
    out = run_main("benchmark", "--what=train", f"--data={tmp_path}/s-*", "--batch_size=4",
                   "--steps=2", "--noaugment")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["what"] == "train" and result["steps"] == 2
    for key in ("images_per_second", "eager_images_per_second",
                "constant_batch_images_per_second"):
        assert result[key] > 0, key
    assert abs(result["compiled_over_eager"]
               - result["images_per_second"] / result["eager_images_per_second"]) < 0.02

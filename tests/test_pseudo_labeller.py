"""`convert --pseudo_boxes_from`: word-only crops get character boxes from the shipped model,
on the serial and the parallel path alike, and bad lines are still reported."""

import glob
import json

import numpy as np

from pipelines import schema
from pipelines.synth import SynthConfig, write_synth
from tests.cli import run_main


def test_convert_draws_boxes_where_the_characters_are(tmp_path):
    write_synth(SynthConfig(output=f"{tmp_path}/w", num_samples=24, num_shards=1, max_length=8,
                            num_workers=1, style="plain", seed=3, unread_symbols=False))
    truth = list(schema.read_records(sorted(glob.glob(f"{tmp_path}/w-*"))))
    (tmp_path / "images").mkdir()
    lines = []
    for i, record in enumerate(truth):
        (tmp_path / "images" / f"{i}.jpg").write_bytes(record.image)
        lines.append(f"images/{i}.jpg\t{record.text}")
    lines[3:3] = ["no tab here", "images/none.jpg\tgone"]  # lines 4 and 5 are bad
    (tmp_path / "labels.tsv").write_text("\n".join(lines) + "\n")

    converted = {}
    for workers in (1, 2):
        out = run_main("convert", "--input_format=tsv", f"--input={tmp_path}/labels.tsv",
                       f"--output={tmp_path}/c{workers}", "--num_shards=1",
                       f"--num_workers={workers}", "--pseudo_boxes_from=pretrained:small-alnum36",
                       timeout=300)
        assert "24 given boxes by a model, 0 left word-only" in out.stdout
        report = json.loads((tmp_path / f"c{workers}.report.json").read_text())
        assert report["written"] == 24 and report["pseudo_boxed"] == 24
        assert report["without_boxes"] == 0 and "no character boxes" not in out.stderr
        assert [e["source"].rsplit(":", 1)[1] for e in report["errors"]] == ["4", "5"]
        shards = sorted(glob.glob(f"{tmp_path}/c{workers}-*"))
        converted[workers] = list(schema.read_records(shards))

    serial, parallel = converted[1], converted[2]
    for a, b in zip(serial, parallel):
        np.testing.assert_array_equal(a.char_boxes, b.char_boxes)
    # Each drawn box's centre lies within the true box of its character (a pixel of slack),
    # and the drawn boxes are as large as the true ones: the maps rendered from them then
    # teach characters of the size the synthetic words teach.
    inside = total = 0
    size_ratios = []
    for record, want in zip(serial, truth):
        assert record.text == want.text and record.char_boxes.shape == (len(want.text), 8)
        drawn = record.char_boxes.reshape(-1, 4, 2)
        centres = drawn.mean(axis=1)
        true = want.char_boxes.reshape(-1, 4, 2)
        low, high = true.min(axis=1) - 1, true.max(axis=1) + 1
        inside += int(np.all((centres >= low) & (centres <= high), axis=1).sum())
        total += len(centres)
        size_ratios.append(np.ptp(drawn, axis=1) / np.ptp(true, axis=1))  # [n, (w, h)]
    assert inside >= 0.9 * total, f"{inside} of {total} centres in their characters' boxes"
    width_ratio, height_ratio = np.median(np.concatenate(size_ratios), axis=0)
    assert 0.8 <= width_ratio <= 1.25 and 0.8 <= height_ratio <= 1.25, (
        f"drawn boxes are {width_ratio:.2f} x the true width, {height_ratio:.2f} x the height")


def test_records_with_boxes_pass_through_without_piling_up():
    from loops.pseudo_labeller import PseudoBoxer
    from pipelines.records import WordRecord
    consumed = 0

    def boxed_records():
        nonlocal consumed
        for i in range(5000):
            consumed += 1
            yield WordRecord(image=b"", height=8, width=8, text="a", source=f"r{i}",
                             char_boxes=np.zeros((1, 8)))

    boxer = PseudoBoxer("pretrained:small-alnum36", max_pending=100)
    first = next(iter(boxer.fill(boxed_records())))
    assert first.source == "r0" and consumed <= 100
    assert boxer.filled == boxer.left_word_only == 0


def test_a_model_that_pads_its_input_is_refused(tmp_path):
    import shutil

    import pytest

    from loops import pretrained
    from loops.pseudo_labeller import PseudoBoxer
    folder = tmp_path / "padded"
    shutil.copytree(pretrained.resolve("pretrained:small-alnum36"), folder)
    spec = json.loads((folder / "model_spec.json").read_text())
    spec["keep_aspect"] = True
    (folder / "model_spec.json").write_text(json.dumps(spec))
    with pytest.raises(ValueError, match="pads its input"):
        PseudoBoxer(str(folder))

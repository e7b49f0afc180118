"""Every file the project reads or writes by name goes through TensorFlow's filesystems when
it is a URL: convert, train, evaluate, export and serve on the in-memory `ram://` filesystem,
with no local path. (ram:// lives in one process, so this runs in-process.)"""

from __future__ import annotations

import json
import os

import numpy as np
import tensorflow as tf

from tests.conftest import encode_image
from textscanner.config import ModelConfig

WORDS = ["CAT", "DOG", "SUN", "TOP", "RED", "BIG", "MAP", "PEN"]


def _word_image(text: str, seed: int) -> bytes:
    """Dark blocks on white, one per character (readable enough to train a step on)."""
    rng = np.random.default_rng(seed)
    image = np.full((32, 128, 3), 255, np.uint8)
    for k in range(len(text)):
        x0 = 10 + 35 * k + int(rng.integers(0, 3))
        image[6:26, x0:x0 + 22] = 40 * k
    return encode_image(image)


def test_convert_train_evaluate_export_on_ram_filesystem(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # anything written locally by mistake would land here
    root = "ram://textscanner_test"
    gfile = tf.io.gfile
    gfile.makedirs(f"{root}/images")
    lines = []
    for index, word in enumerate(WORDS):
        with gfile.GFile(f"{root}/images/{index}.png", "wb") as f:
            f.write(_word_image(word, index))
        lines.append(f"images/{index}.png\t{word}")
    lines.append("images/missing.png\tLOST")  # reported by name, like a local file
    with gfile.GFile(f"{root}/labels.tsv", "w") as f:
        f.write("\n".join(lines) + "\n")

    from pipelines.convert import ConvertConfig, convert
    report = convert(ConvertConfig(input_format="tsv", input=f"{root}/labels.tsv",
                                   output=f"{root}/data/train", num_shards=2, num_workers=1))
    assert report.written == len(WORDS)
    assert [e["reason"] for e in report.errors] == ["missing_image"]
    assert f"{root}/images/missing.png" in report.errors[0]["message"]
    assert json.loads(gfile.GFile(f"{root}/data/train.report.json").read())["written"] == 8

    from loops.config import TrainConfig
    from loops.trainer import Trainer
    model_dir = f"{root}/model"
    final = Trainer(TrainConfig(
        model_dir=model_dir, train_data=f"{root}/data/train-*", eval_data=f"{root}/data/train-*",
        batch_size=4, model=ModelConfig(input_height=32, input_width=128), augment=None,
        train_steps=2, steps_per_loop=1, checkpoint_every=1, image_summary_every=0)).train()
    assert final["step"] == 2 and "word_accuracy" in final["eval"]
    assert tf.train.latest_checkpoint(model_dir).endswith("ckpt-2")
    assert gfile.exists(f"{model_dir}/model_spec.json")
    assert gfile.glob(f"{model_dir}/train/events.out.tfevents.*")

    from loops.evaluation import evaluate_dataset
    from loops.model_io import (SavedModelReader, export_saved_model,
                                recognizer_from_checkpoint)
    recognizer = recognizer_from_checkpoint(model_dir)
    scored = evaluate_dataset(recognizer, f"{root}/data/train-*", recognizer.lookup.charset)
    assert scored.to_json()["num_samples"] == len(WORDS)

    export_dir = export_saved_model(recognizer, f"{root}/export")
    assert gfile.exists(f"{export_dir}/saved_model.pb")
    reader = SavedModelReader(export_dir)
    encoded = tf.constant([_word_image(w, i) for i, w in enumerate(WORDS[:2])])
    np.testing.assert_array_equal(reader.read_encoded(encoded)["text"].numpy(),
                                  recognizer.read_encoded(encoded)["text"].numpy())

    from loops.predict import expand_paths, predict_files
    paths = expand_paths([f"{root}/images/*.png", f"{root}/images/none.png"])
    predicted = {path: (text, confidence) for path, text, confidence
                 in predict_files(reader, paths)}
    assert len(predicted) == len(WORDS) + 1
    assert predicted[f"{root}/images/none.png"] == ("no such file", None)
    assert predicted[f"{root}/images/0.png"][1] is not None
    assert os.listdir(tmp_path) == []

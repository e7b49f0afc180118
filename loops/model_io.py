"""A model directory that stands on its own: the spec (charset, backbone, decoding) next to
the checkpoints; loading a recognizer from it; exporting and loading SavedModels."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os

import keras
import tensorflow as tf

from loops.checkpoints import restore_weights_only, save_weights_only
from loops.recognizer import Recognizer
from textscanner import storage
from textscanner.charset import Charset, load_charset
from textscanner.charset_tf import CharsetLookup
from textscanner.config import DecodeConfig, ModelConfig
from textscanner.model import TextScanner

log = logging.getLogger(__name__)

SPEC_FILE = "model_spec.json"
EXTRA_DIR = "assets.extra"
CHARSET_FILE = "charset.txt"


def save_spec(model_dir: str, model_config: ModelConfig, charset: Charset,
              decode_config: DecodeConfig, keep_aspect: bool) -> str:
    """Writes model_spec.json and charset.txt so that model_dir alone is enough to predict."""
    storage.makedirs(model_dir)
    with storage.open_file(os.path.join(model_dir, CHARSET_FILE), "w", encoding="utf-8") as f:
        f.write("".join(c + "\n" for c in charset.chars))
    spec = {"model": dataclasses.asdict(model_config), "charset_name": charset.name,
            "case_fold": charset.case_fold, "decode": dataclasses.asdict(decode_config),
            "keep_aspect": keep_aspect}
    spec["model"]["backbone_weights"] = None  # the checkpoints hold the weights
    path = os.path.join(model_dir, SPEC_FILE)
    with storage.open_file(path, "w", encoding="utf-8") as f:
        json.dump(spec, f, indent=1)
    return path


def load_spec(model_dir: str) -> tuple[ModelConfig, Charset, DecodeConfig, bool]:
    path = os.path.join(model_dir, SPEC_FILE)
    if not storage.isfile(path):
        raise FileNotFoundError(f"{model_dir} has no {SPEC_FILE}: not a TextScanner model "
                                f"directory (train writes it)")
    with storage.open_file(path, encoding="utf-8") as f:
        spec = json.load(f)
    model = spec["model"]
    model["order_channels"] = tuple(model["order_channels"])
    charset = load_charset(os.path.join(model_dir, CHARSET_FILE))
    charset = Charset(charset.chars, case_fold=spec["case_fold"], name=spec["charset_name"])
    return (ModelConfig(**model), charset, DecodeConfig(**spec["decode"]),
            bool(spec["keep_aspect"]))


@contextlib.contextmanager
def float32_models():
    """Models built inside compute in float32, as evaluate, predict and export read a model
    folder (its weights are float32), whatever the process's mixed-precision policy; the
    policy is restored after."""
    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(policy)


def recognizer_from_checkpoint(model_dir: str, checkpoint: str | None = None,
                               decode_config: DecodeConfig | None = None,
                               average_with_start: bool = True) -> Recognizer:
    """The newest checkpoint of model_dir (or `checkpoint`) as a Recognizer; for a finished
    run that started from other weights, their average with it (`loops/start_average.py`),
    unless `average_with_start` is False."""
    from loops.start_average import current_average
    model_config, charset, saved_decode, keep_aspect = load_spec(model_dir)
    model = TextScanner(model_config).build_for_input()
    average = current_average(model_dir) if not checkpoint else None
    if average and not average_with_start:
        log.info("reading %s alone, not its average with its start (%s)", model_dir, average)
        average = None
    if average:
        log.info("reading %s: the run averaged with the weights it started from", average)
    restore_weights_only(model, checkpoint or average or model_dir)
    return Recognizer(model, CharsetLookup(charset), decode_config or saved_decode, keep_aspect)


def export_weights(recognizer: Recognizer, folder: str) -> str:
    """A model folder holding the spec, the charset and one checkpoint of the model's weights
    alone (no optimizer state or step): what `recognizer_from_checkpoint` and warm starts
    read, a third of a training checkpoint's size."""
    storage.rmtree(folder)
    save_spec(folder, recognizer.model.config, recognizer.lookup.charset,
              recognizer.decode_config, recognizer.keep_aspect)
    return save_weights_only(recognizer.model, folder)


def export_saved_model(recognizer: Recognizer, export_dir: str) -> str:
    """SavedModel whose `serving_default` takes encoded images (tf.string [N]) and returns
    `text` (tf.string [N]) and `confidence` (float32 [N]); `read_images` takes float images."""
    # Locally, written beside and renamed into place; remote filesystems may not rename
    # folders, so there it is written in place.
    tmp = export_dir if storage.is_url(export_dir) else export_dir.rstrip("/") + ".tmp"
    storage.rmtree(tmp)
    tf.saved_model.save(recognizer, tmp, signatures={
        "serving_default": recognizer.read_encoded,
        "read_images": recognizer.read_images,
    })
    # The charset and preprocessing spec travel with the SavedModel (for `evaluate`).
    save_spec(os.path.join(tmp, EXTRA_DIR), recognizer.model.config, recognizer.lookup.charset,
              recognizer.decode_config, recognizer.keep_aspect)
    if tmp != export_dir:
        storage.rmtree(export_dir)
        storage.rename(tmp, export_dir)
    return export_dir


class SavedModelReader:
    """Reads images with an exported SavedModel, like a Recognizer does."""

    def __init__(self, export_dir: str):
        if not storage.isdir(export_dir):
            raise FileNotFoundError(f"no SavedModel at {export_dir}")
        self.loaded = tf.saved_model.load(export_dir)
        self.serving = self.loaded.signatures["serving_default"]
        self.images_signature = self.loaded.signatures["read_images"]
        model, self.charset, _, self.keep_aspect = load_spec(os.path.join(export_dir, EXTRA_DIR))
        self.input_size = model.input_height, model.input_width

    def read_encoded(self, encoded: tf.Tensor) -> dict[str, tf.Tensor]:
        return self.serving(encoded=tf.convert_to_tensor(encoded, tf.string))

    def read_images(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
        return self.images_signature(images=tf.convert_to_tensor(images, tf.float32))

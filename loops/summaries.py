"""TensorBoard summaries: scalars each interval, coloured maps and texts every K steps."""

from __future__ import annotations

import os

import tensorflow as tf

from loops.recognizer import Recognizer
from textscanner.visualize import map_panels
from textscanner.word_formation import probabilities


class Summaries:
    """Writers under model_dir/train and model_dir/eval (no-ops on non-chief workers)."""

    def __init__(self, model_dir: str, enabled: bool):
        self.enabled = enabled
        if enabled:
            self.train = tf.summary.create_file_writer(os.path.join(model_dir, "train"))
            self.eval = tf.summary.create_file_writer(os.path.join(model_dir, "eval"))

    def scalars(self, writer_name: str, values: dict[str, float], step: int) -> None:
        if not self.enabled:
            return
        with getattr(self, writer_name).as_default(step=step):
            for name, value in values.items():
                tf.summary.scalar(name, value)

    def text(self, writer_name: str, name: str, markdown: str, step: int) -> None:
        if self.enabled:
            with getattr(self, writer_name).as_default(step=step):
                tf.summary.text(name, markdown)

    def predictions(self, recognizer: Recognizer, batch: dict[str, tf.Tensor],
                    num_classes: int, num_slots: int, step: int) -> None:
        """Input, predicted class / order / localisation maps in colour, and the texts."""
        if not self.enabled:
            return
        panels, texts = _prediction_panels(recognizer, batch["image"], num_classes, num_slots)
        truths = [t.decode("utf-8") for t in batch["text"].numpy()]
        rows = [f"| {t} | {p.decode('utf-8')} |" for t, p in zip(truths, texts.numpy())]
        with self.train.as_default(step=step):
            tf.summary.image("predicted_maps", panels, max_outputs=panels.shape[0])
            tf.summary.text("truth_vs_prediction",
                            "| truth | prediction |\n|---|---|\n" + "\n".join(rows))


@tf.function(reduce_retracing=True, autograph=False)
def _prediction_panels(recognizer: Recognizer, images: tf.Tensor, num_classes: int,
                       num_slots: int) -> tuple[tf.Tensor, tf.Tensor]:
    probs = probabilities(recognizer.model(images, training=False))
    class_map = tf.argmax(probs["class_probs"], axis=-1)
    order_map = tf.argmax(probs["order_probs"], axis=-1)
    panels = map_panels(images, class_map, order_map, probs["loc_map"], num_classes, num_slots)
    return panels, recognizer.read_images(images)["text"]

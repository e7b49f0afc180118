"""Images -> text and confidences with the model, in one compiled function.

Shared by evaluation, `predict` and the exported SavedModel, so all three read words the
same way.
"""

from __future__ import annotations

import tensorflow as tf

from pipelines.decode import preprocess_encoded
from textscanner.charset_tf import CharsetLookup
from textscanner.config import DecodeConfig
from textscanner.decoding import decode
from textscanner.reread import crop_to, more_confident, text_boxes
from textscanner.word_formation import probabilities, slot_overlap, word_formation


class Recognizer(tf.Module):
    """Wraps a TextScanner model with decoding and the charset."""

    def __init__(self, model, lookup: CharsetLookup, decode_config: DecodeConfig,
                 keep_aspect: bool = False):
        super().__init__(name="recognizer")
        self.model = model
        self.lookup = lookup
        self.decode_config = decode_config
        self.keep_aspect = keep_aspect
        height, width = self.input_size
        # No Python branches on tensors here: AutoGraph's conversion is not needed.
        self.read_images = tf.function(
            self._read_images, autograph=False,
            input_signature=[tf.TensorSpec([None, height, width, 3], tf.float32)])
        self.read_encoded = tf.function(
            self._read_encoded, autograph=False,
            input_signature=[tf.TensorSpec([None], tf.string)])

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) of the images the model reads."""
        return self.model.config.input_height, self.model.config.input_width

    def _read_images(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
        """images [B, height, width, 3] in [0, 1] -> text [B], confidence [B], details.

        With `reread_margin` > 0, read twice: the image, then the image cut around the
        characters the first reading found (textscanner/reread.py); the more confident
        reading is kept."""
        first, class_probs = self._read_once(images)
        config = self.decode_config
        if config.reread_margin <= 0:
            return first
        height, width = self.input_size
        boxes = text_boxes(class_probs, config.reread_threshold, config.reread_margin,
                           width / height)
        second, _ = self._read_once(crop_to(images, boxes))
        return more_confident(first, second)

    def _read_once(self, images: tf.Tensor) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
        """One reading, and the class probabilities it came from."""
        probs = probabilities(self.model(images, training=False))
        char_probs, mass = word_formation(probs["class_probs"], probs["order_probs"],
                                          probs["loc_map"])
        overlap = slot_overlap(probs["order_probs"], probs["loc_map"])
        map_height, map_width = probs["loc_map"].shape[1:3]
        decoded = decode(char_probs, mass, self.decode_config, map_area=map_height * map_width,
                         overlap=overlap)
        return {
            "text": self.lookup.decode(decoded.ids, decoded.lengths),
            "confidence": decoded.word_scores,
            "char_confidence": decoded.char_scores,
            "ids": decoded.ids,
            "length": decoded.lengths,
        }, probs["class_probs"]

    def _read_encoded(self, encoded: tf.Tensor) -> dict[str, tf.Tensor]:
        """Encoded image bytes (any format TensorFlow decodes) [B] -> text, confidence."""
        height, width = self.input_size
        images = tf.map_fn(lambda e: preprocess_encoded(e, self.keep_aspect, height, width),
                           encoded,
                           fn_output_signature=tf.TensorSpec([height, width, 3], tf.float32))
        out = self._read_images(images)
        return {"text": out["text"], "confidence": out["confidence"]}

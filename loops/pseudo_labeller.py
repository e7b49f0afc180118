"""`convert --pseudo_boxes_from=MODEL`: character boxes for word-only training records, drawn
by a trained model (`pipelines/pseudo_boxes.py`), so that they train the class, order and
localisation maps instead of mutual supervision alone."""

from __future__ import annotations

from typing import Iterable, Iterator

import keras
import numpy as np
import tensorflow as tf

from loops import pretrained
from loops.model_io import recognizer_from_checkpoint
from pipelines.decode import preprocess_encoded
from pipelines.pseudo_boxes import boxes_from_class_map
from pipelines.records import WordRecord


class PseudoBoxer:
    """Fills in the boxes of the word-only records in a stream of convert results, in order;
    counts those it filled (`filled`) and those it could not (`left_word_only`)."""

    def __init__(self, model_dir: str, batch_size: int = 64, max_pending: int = 1024):
        keras.mixed_precision.set_dtype_policy("float32")  # the weights are float32
        self.recognizer = recognizer_from_checkpoint(pretrained.resolve(model_dir))
        if self.recognizer.keep_aspect:
            # The boxes map the class map's cells onto the whole image: a stretched input.
            raise ValueError(f"{model_dir} pads its input (keep_aspect); pseudo-boxes need a "
                             f"model that stretches it")
        self.charset = self.recognizer.lookup.charset
        self.batch_size = batch_size
        self.max_pending = max_pending  # records held back at most (boxed ones pass through)
        self.filled = self.left_word_only = 0
        height, width = self.recognizer.input_size
        model = self.recognizer.model

        # Signatures, so that neither a new batch size nor a new image's bytes retrace.
        @tf.function(input_signature=[tf.TensorSpec([None, height, width, 3], tf.float32)])
        def class_probs(images: tf.Tensor) -> tf.Tensor:
            return tf.nn.softmax(model(images, training=False)["class_logits"], axis=-1)

        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def resized(encoded: tf.Tensor) -> tf.Tensor:
            return preprocess_encoded(encoded, False, height, width)

        self._class_probs, self._resized = class_probs, resized

    def fill(self, results: Iterable) -> Iterator:
        """`results` (WordRecords and error tuples) in order, word-only records with boxes."""
        pending, word_only = [], 0
        for result in results:
            pending.append(result)
            if isinstance(result, WordRecord) and result.char_boxes is None:
                word_only += 1
            if word_only == self.batch_size or len(pending) == self.max_pending:
                yield from self._filled(pending)
                pending, word_only = [], 0
        yield from self._filled(pending)

    def _filled(self, pending: list) -> list:
        records = [r for r in pending if isinstance(r, WordRecord) and r.char_boxes is None]
        if not records:
            return pending
        probs = self._class_probs(tf.stack([self._resized(r.image) for r in records])).numpy()
        for record, class_probs in zip(records, probs):
            encoded = self.charset.encode(record.text)
            # Boxes need one class per character of the label, and a column for each.
            if (not encoded.ok or not encoded.ids
                    or len(encoded.ids) != len(record.text)
                    or len(encoded.ids) > class_probs.shape[1]):
                self.left_word_only += 1
                continue
            boxes = boxes_from_class_map(class_probs, encoded.ids, record.height, record.width)
            record.char_boxes = np.asarray(boxes, np.float32).reshape(-1, 8)
            self.filled += 1
        return pending

"""The charset as TensorFlow lookups: UTF-8 text <-> class ids inside the graph."""

from __future__ import annotations

import tensorflow as tf

from textscanner.charset import Charset

UNKNOWN_ID = -1


class CharsetLookup(tf.Module):
    """Maps code points to ids (-1 for unknown) and ids back to text, in the graph."""

    def __init__(self, charset: Charset):
        super().__init__(name="charset")
        self.charset = charset
        keys = tf.constant(charset.codepoints(), tf.int32)
        values = tf.range(1, len(charset.chars) + 1, dtype=tf.int32)
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(keys, values), default_value=UNKNOWN_ID)
        self.strings = tf.constant([""] + list(charset.chars))

    def codepoints(self, text: tf.Tensor) -> tf.Tensor:
        """UTF-8 string -> [n] int32 code points (A-Z folded for case-folded sets); a [K]
        vector of strings gives a [K, (n)] RaggedTensor."""
        points = tf.strings.unicode_decode(text, "UTF-8", errors="replace")
        if self.charset.case_fold:
            points = tf.ragged.map_flat_values(self._fold, points)
        return points

    @staticmethod
    def _fold(points: tf.Tensor) -> tf.Tensor:
        upper = (points >= ord("A")) & (points <= ord("Z"))
        return tf.where(upper, points + 32, points)

    def ids(self, points: tf.Tensor) -> tf.Tensor:
        """Code points (dense or ragged) -> int32 ids, -1 where a character is not in the set."""
        return tf.ragged.map_flat_values(self.table.lookup, points)

    def encode(self, text: tf.Tensor) -> tf.Tensor:
        """UTF-8 string -> [n] int32 ids (a [K] vector gives [K, (n)]), -1 for unknown ones."""
        return self.ids(self.codepoints(text))

    def decode(self, ids: tf.Tensor, lengths: tf.Tensor) -> tf.Tensor:
        """ids [B, N], lengths [B] -> [B] UTF-8 strings."""
        ids = tf.clip_by_value(tf.cast(ids, tf.int32), 0, len(self.charset.chars))
        mask = tf.sequence_mask(lengths, tf.shape(ids)[1])
        chars = tf.where(mask, tf.gather(self.strings, ids), "")
        return tf.strings.reduce_join(chars, axis=-1)

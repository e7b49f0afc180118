"""Reading the slots in order until a stop rule fires (docs/model.md, section 1), in the graph."""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from textscanner.config import INPUT_HEIGHT, INPUT_WIDTH, DecodeConfig, map_size

# The map of the paper's input, for which DecodeConfig's masses are given.
_REFERENCE_MAP = map_size(INPUT_HEIGHT, INPUT_WIDTH)
REFERENCE_MAP_AREA = _REFERENCE_MAP[0] * _REFERENCE_MAP[1]


@dataclasses.dataclass
class Decoded:
    ids: tf.Tensor  # [B, N] int32 class ids, 0 after the end of the word
    lengths: tf.Tensor  # [B] int32
    char_scores: tf.Tensor  # [B, N] float32, 0 after the end
    word_scores: tf.Tensor  # [B] float32: mean character score, 0 for an empty word


def decode(char_probs: tf.Tensor, mass: tf.Tensor,
           config: DecodeConfig = DecodeConfig(), map_area: float = REFERENCE_MAP_AREA,
           overlap: tf.Tensor | None = None) -> Decoded:
    """Reads slots k = 1, 2, ... and stops at the first slot whose mass is below
    max(min_slot_mass, relative_slot_mass * the largest slot mass), or whose best class is
    the background, or whose best probability is below min_char_score, or (given `overlap`
    [B, N], `word_formation.slot_overlap`) which shares more than max_slot_overlap of its
    map with the previous slot.

    A slot's mass is a sum over map pixels, so `min_slot_mass` (given for a map of
    REFERENCE_MAP_AREA pixels) is scaled to `map_area`, the pixels of the model's map."""
    best = tf.argmax(char_probs, axis=-1, output_type=tf.int32)
    score = tf.reduce_max(char_probs, axis=-1)
    min_mass = config.min_slot_mass * map_area / REFERENCE_MAP_AREA
    threshold = tf.maximum(min_mass,
                           config.relative_slot_mass * tf.reduce_max(mass, axis=-1,
                                                                     keepdims=True))
    readable = (mass >= threshold) & (best != 0) & (score >= config.min_char_score)
    if overlap is not None:
        readable &= overlap <= config.max_slot_overlap
    in_word = tf.cast(tf.math.cumprod(tf.cast(readable, tf.int32), axis=-1), tf.bool)
    lengths = tf.reduce_sum(tf.cast(in_word, tf.int32), axis=-1)
    char_scores = tf.where(in_word, score, 0.0)
    word_scores = tf.math.divide_no_nan(tf.reduce_sum(char_scores, -1),
                                        tf.cast(lengths, tf.float32))
    return Decoded(ids=tf.where(in_word, best, 0), lengths=lengths, char_scores=char_scores,
                   word_scores=word_scores)

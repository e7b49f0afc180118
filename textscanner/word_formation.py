"""From logits to per-slot character distributions (docs/model.md, section 1)."""

from __future__ import annotations

import tensorflow as tf

EPSILON = 1e-6


def probabilities(outputs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """G = softmax(class), Q = sigmoid(loc), S = softmax(order), all float32."""
    return {
        "class_probs": tf.nn.softmax(tf.cast(outputs["class_logits"], tf.float32)),
        "loc_map": tf.sigmoid(tf.cast(outputs["loc_logits"], tf.float32)),
        "order_probs": tf.nn.softmax(tf.cast(outputs["order_logits"], tf.float32)),
    }


def order_maps(order_probs: tf.Tensor, loc_map: tf.Tensor) -> tf.Tensor:
    """H_k = S_k * Q for k = 1..N: [B, h, w, N]."""
    return order_probs[..., 1:] * loc_map[..., None]


def word_formation(class_probs: tf.Tensor, order_probs: tf.Tensor,
                   loc_map: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """p_k = sum_xy G(x, y) H_k(x, y) / m_k, with slot mass m_k = sum_xy H_k.

    One contraction over the pixels (a batched matmul); no N x h x w x C tensor is built.
    Returns char_probs [B, N, C + 1] (each row a distribution where m_k > 0) and mass [B, N].
    """
    order = order_maps(order_probs, loc_map)
    mass = tf.reduce_sum(order, axis=[1, 2])
    weighted = tf.einsum("bhwn,bhwc->bnc", order, class_probs)
    return weighted / tf.maximum(mass, EPSILON)[..., None], mass


def slot_overlap(order_probs: tf.Tensor, loc_map: tf.Tensor) -> tf.Tensor:
    """Share of each slot's order map that the previous slot also covers:
    sum_xy min(H_k, H_{k-1}) / min(m_k, m_{k-1}), in [0, 1]; 0 for the first slot.

    A slot that re-reads the pixels of the one before it is not a new character (it is how
    a trailing duplicate, `8h -> 8hh`, arises); decoding ends the word there."""
    order = order_maps(order_probs, loc_map)
    previous = tf.pad(order[..., :-1], [[0, 0], [0, 0], [0, 0], [1, 0]])
    shared = tf.reduce_sum(tf.minimum(order, previous), axis=[1, 2])
    mass = tf.reduce_sum(order, axis=[1, 2])
    previous_mass = tf.pad(mass[:, :-1], [[0, 0], [1, 0]])
    return shared / tf.maximum(tf.minimum(mass, previous_mass), EPSILON)

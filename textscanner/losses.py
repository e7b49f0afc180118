"""TextScanner losses (docs/model.md, section 3), each a function returning per-example values.

`total_loss` weights them by hand, masks the character-level terms by `has_char_boxes`
(mutual supervision acts on the other samples) and divides by the *global* batch size, so
the result is the same on any number of replicas. All loss math runs in float32.
"""

from __future__ import annotations

import tensorflow as tf

from textscanner.config import LossConfig


def _f32(x: tf.Tensor) -> tf.Tensor:
    return tf.cast(x, tf.float32)


# -log p is capped here: p below this underflows float32 (a logit gap of ~85).
_MIN_PROBABILITY = 1e-37


def pixel_cross_entropy(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """[...] sparse softmax cross-entropy of [..., C] logits, with the exact gradient
    softmax - one_hot.

    Computed from one softmax (oneDNN's kernel) that the gradient reuses, which on CPU is
    faster than `tf.nn.sparse_softmax_cross_entropy_with_logits` over a whole class map,
    forward and backward (BUILD.md). The loss value, -log p[label], saturates at 85.2
    where p underflows float32; the gradient does not.
    """
    labels = tf.cast(labels, tf.int32)
    return _softmax_cross_entropy(labels, _f32(logits))


@tf.custom_gradient
def _softmax_cross_entropy(labels: tf.Tensor, logits: tf.Tensor):
    probs = tf.nn.softmax(logits)
    picked = tf.gather(probs, labels[..., None], batch_dims=labels.shape.rank)[..., 0]
    loss = -tf.math.log(tf.maximum(picked, _MIN_PROBABILITY))

    def gradient(upstream):
        one_hot = tf.one_hot(labels, tf.shape(logits)[-1], dtype=logits.dtype)
        return None, upstream[..., None] * (probs - one_hot)

    return loss, gradient


def class_segmentation_loss(class_logits: tf.Tensor, class_map: tf.Tensor,
                            balance: bool = True) -> tf.Tensor:
    """[B] sparse CE on G. Balanced (CA-FCN): character pixels are weighted by the
    background/character pixel ratio, i.e. the loss is the mean of the background pixels'
    mean CE and the character pixels' mean CE."""
    ce = pixel_cross_entropy(class_map, class_logits)
    if not balance:
        return tf.reduce_mean(ce, axis=[1, 2])
    is_char = _f32(class_map > 0)
    num_char = tf.reduce_sum(is_char, axis=[1, 2], keepdims=True)
    num_background = tf.reduce_sum(1.0 - is_char, axis=[1, 2], keepdims=True)
    # ratio 1 when a class is absent (no characters, or characters everywhere)
    ratio = tf.where((num_char > 0) & (num_background > 0),
                     num_background / tf.maximum(num_char, 1.0), 1.0)
    weights = 1.0 + is_char * (ratio - 1.0)
    return tf.reduce_sum(weights * ce, axis=[1, 2]) / tf.reduce_sum(weights, axis=[1, 2])


def order_segmentation_loss(order_logits: tf.Tensor, order_map: tf.Tensor) -> tf.Tensor:
    """[B] sparse CE on S over its N + 1 channels (0 = background), mean over pixels."""
    return tf.reduce_mean(pixel_cross_entropy(order_map, order_logits), axis=[1, 2])


def localization_loss(loc_logits: tf.Tensor, loc_map: tf.Tensor) -> tf.Tensor:
    """[B] smooth-L1 between Q = sigmoid(logits) and Q*, mean over pixels."""
    diff = tf.abs(tf.sigmoid(_f32(loc_logits)) - _f32(loc_map))
    smooth_l1 = tf.where(diff < 1.0, 0.5 * tf.square(diff), diff - 0.5)
    return tf.reduce_mean(smooth_l1, axis=[1, 2])


def _masked_mean(values: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """[B] mean of values over mask per example; 0 where the mask is empty."""
    return tf.math.divide_no_nan(tf.reduce_sum(values * mask, axis=[1, 2]),
                                 tf.reduce_sum(mask, axis=[1, 2]))


def mutual_supervision_loss(outputs: dict[str, tf.Tensor], text_ids: tf.Tensor,
                            lengths: tf.Tensor, config: LossConfig = LossConfig()
                            ) -> tf.Tensor:
    """[B] L_m = L_h + share * L_g for samples that have a word label but no boxes.

    Pixels with Q > gate take part. With the predicted slot k(x) = argmax_k S_k (k >= 1) and
    class c(x) = argmax_c G:
    - geometry -> class (L_g, trains G): a pixel in slot k <= len(word) should show the
      k-th character; weighted by the geometry side's hit rate (the share of class-side
      pixels whose slot agrees with their class-side slot) to the power `hit_power`.
    - class -> geometry (L_h, trains S): a pixel read as character c that occurs in the word
      should lie in the slot of c; weighted by the class side's hit rate (the share of
      geometry-side pixels whose class is the expected character) to the power `hit_power`.
    Repeated characters: when c occurs at several positions, the pixel goes to the
    occurrence nearest to its currently predicted slot (ties to the earlier position). This
    keeps e.g. the two l of "hello" apart as long as the geometry separates them roughly.
    Assignments and weights are constants (stop-gradient); an empty assignment gives 0.
    """
    class_logits = _f32(outputs["class_logits"])
    order_logits = _f32(outputs["order_logits"])
    loc = tf.stop_gradient(tf.sigmoid(_f32(outputs["loc_logits"])))
    gate = _f32(loc > config.mutual_gate)
    num_slots = tf.shape(order_logits)[-1] - 1
    text_ids = tf.cast(text_ids[:, :num_slots], tf.int32)
    lengths = tf.cast(lengths, tf.int32)[:, None, None]

    slot = tf.argmax(order_logits[..., 1:], axis=-1, output_type=tf.int32) + 1  # [B, h, w]
    cls = tf.argmax(class_logits, axis=-1, output_type=tf.int32)

    # geometry side: expected class of each pixel from its slot
    geo_mask = gate * _f32(slot <= lengths)
    geo_target = tf.gather(text_ids, tf.minimum(slot, num_slots) - 1, batch_dims=1)

    # class side: expected slot of each pixel from its class
    positions = tf.range(num_slots, dtype=tf.int32)
    in_word = positions[None, :] < lengths[:, :, 0]  # [B, N]
    matches = (text_ids[:, None, None, :] == cls[..., None]) & in_word[:, None, None, :]
    distance = tf.abs(positions - (slot[..., None] - 1))  # [B, h, w, N]
    distance = tf.where(matches, distance, tf.int32.max)
    cls_target = tf.argmin(distance, axis=-1, output_type=tf.int32) + 1
    cls_mask = gate * _f32((cls > 0) & tf.reduce_any(matches, axis=-1))

    geo_hit = _masked_mean(_f32(slot == cls_target), cls_mask)  # geometry judged by class
    cls_hit = _masked_mean(_f32(cls == geo_target), geo_mask)  # class judged by geometry
    geo_weight = tf.stop_gradient(tf.pow(geo_hit, config.mutual_hit_power))
    cls_weight = tf.stop_gradient(tf.pow(cls_hit, config.mutual_hit_power))

    loss_g = geo_weight * _masked_mean(pixel_cross_entropy(geo_target, class_logits), geo_mask)
    loss_h = cls_weight * _masked_mean(pixel_cross_entropy(cls_target, order_logits), cls_mask)
    return loss_h + config.mutual_class_share * loss_g


def total_loss(outputs: dict[str, tf.Tensor], batch: dict[str, tf.Tensor],
               global_batch_size: int | tf.Tensor,
               config: LossConfig = LossConfig()) -> dict[str, tf.Tensor]:
    """Weighted sum over the terms, each averaged over the global batch.

    Returns {"loss": total, "class_loss", "order_loss", "loc_loss", "mutual_loss"}; the
    components are unweighted (for summaries), the total is weighted.
    """
    has_boxes = _f32(batch["has_char_boxes"])
    word_only = 1.0 - has_boxes
    denominator = tf.cast(global_batch_size, tf.float32)

    def reduce(per_example: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
        return tf.reduce_sum(per_example * mask) / denominator

    terms = {
        "class_loss": reduce(class_segmentation_loss(outputs["class_logits"],
                                                     batch["class_map"], config.class_balance),
                             has_boxes),
        "order_loss": reduce(order_segmentation_loss(outputs["order_logits"],
                                                     batch["order_map"]), has_boxes),
        "loc_loss": reduce(localization_loss(outputs["loc_logits"], batch["loc_map"]),
                           has_boxes),
    }
    if config.mutual_weight:
        # Skipped (not just masked) when the batch has no word-only sample: it is not cheap.
        terms["mutual_loss"] = tf.cond(
            tf.reduce_any(word_only > 0),
            lambda: reduce(mutual_supervision_loss(outputs, batch["text_ids"],
                                                   batch["length"], config), word_only),
            lambda: tf.constant(0.0))
    else:
        terms["mutual_loss"] = tf.constant(0.0)
    terms["loss"] = (config.class_weight * terms["class_loss"]
                     + config.order_weight * terms["order_loss"]
                     + config.loc_weight * terms["loc_loss"]
                     + config.mutual_weight * terms["mutual_loss"])
    return terms

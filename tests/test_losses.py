"""Every loss term, word formation and decoding against small numpy references."""

import numpy as np
import pytest
import tensorflow as tf

from textscanner import decoding, losses, word_formation
from textscanner.config import DecodeConfig, LossConfig

RNG = np.random.default_rng(0)


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _ce(logits, label):
    return -np.log(_softmax(logits)[label])


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# ---- class segmentation -----------------------------------------------------------------
def test_class_loss_balanced_matches_reference():
    logits = RNG.normal(size=(2, 2, 3, 4)).astype(np.float32)
    labels = np.array([[[0, 0, 2], [0, 3, 0]], [[0, 0, 0], [0, 0, 0]]], np.int32)
    got = losses.class_segmentation_loss(logits, labels, balance=True).numpy()
    for b in range(2):
        ce = np.array([[_ce(logits[b, i, j], labels[b, i, j]) for j in range(3)]
                       for i in range(2)])
        char = labels[b] > 0
        if char.any():  # background/character ratio 4/2 = 2 on character pixels
            w = np.where(char, (~char).sum() / char.sum(), 1.0)
            ref = (w * ce).sum() / w.sum()
            np.testing.assert_allclose(ref, 0.5 * (ce[char].mean() + ce[~char].mean()),
                                       rtol=1e-6)
        else:
            ref = ce.mean()
        np.testing.assert_allclose(got[b], ref, rtol=1e-5)
    plain = losses.class_segmentation_loss(logits, labels, balance=False).numpy()
    ce0 = np.array([[_ce(logits[0, i, j], labels[0, i, j]) for j in range(3)] for i in range(2)])
    np.testing.assert_allclose(plain[0], ce0.mean(), rtol=1e-5)


def test_order_and_localization_losses_match_reference():
    logits = RNG.normal(size=(1, 2, 3, 5)).astype(np.float32)
    labels = np.array([[[0, 1, 1], [2, 0, 4]]], np.int32)
    ref = np.mean([_ce(logits[0, i, j], labels[0, i, j]) for i in range(2) for j in range(3)])
    np.testing.assert_allclose(losses.order_segmentation_loss(logits, labels).numpy()[0], ref,
                               rtol=1e-5)
    loc_logits = RNG.normal(size=(2, 2, 3)).astype(np.float32) * 3
    target = RNG.uniform(size=(2, 2, 3)).astype(np.float32)
    d = np.abs(_sigmoid(loc_logits) - target)
    ref = np.where(d < 1, 0.5 * d ** 2, d - 0.5).mean(axis=(1, 2))
    np.testing.assert_allclose(losses.localization_loss(loc_logits, target).numpy(), ref,
                               rtol=1e-5)


# ---- mutual supervision ------------------------------------------------------------------
def _mutual_reference(class_logits, order_logits, loc_logits, text, cfg):
    """Pixel-by-pixel reading of the rule documented in losses.mutual_supervision_loss."""
    h, w = loc_logits.shape
    n = len(text)
    geo, cls_side = [], []  # (i, j, target)
    for i in range(h):
        for j in range(w):
            if _sigmoid(loc_logits[i, j]) <= cfg.mutual_gate:
                continue
            slot = int(np.argmax(order_logits[i, j, 1:])) + 1
            c = int(np.argmax(class_logits[i, j]))
            if slot <= n:
                geo.append((i, j, text[slot - 1]))
            candidates = [k for k in range(n) if text[k] == c]
            if c > 0 and candidates:
                best = min(candidates, key=lambda k: (abs(k - (slot - 1)), k))
                cls_side.append((i, j, best + 1))
    slot_of = lambda i, j: int(np.argmax(order_logits[i, j, 1:])) + 1  # noqa: E731
    cls_of = lambda i, j: int(np.argmax(class_logits[i, j]))  # noqa: E731
    geo_hit = np.mean([slot_of(i, j) == t for i, j, t in cls_side]) if cls_side else 0.0
    cls_hit = np.mean([cls_of(i, j) == t for i, j, t in geo]) if geo else 0.0
    loss_g = np.mean([_ce(class_logits[i, j], t) for i, j, t in geo]) if geo else 0.0
    loss_h = np.mean([_ce(order_logits[i, j], t) for i, j, t in cls_side]) if cls_side else 0.0
    return cls_hit ** 2 * loss_h + cfg.mutual_class_share * geo_hit ** 2 * loss_g


def _one_hot_logits(indices, depth, scale=4.0):
    return (np.eye(depth)[indices] * scale + RNG.normal(size=indices.shape + (depth,)) * 0.1
            ).astype(np.float32)


def _mutual(class_logits, order_logits, loc_logits, text, num_slots):
    ids = np.zeros((1, num_slots), np.int32)
    ids[0, :len(text)] = text
    outputs = {"class_logits": class_logits[None], "order_logits": order_logits[None],
               "loc_logits": loc_logits[None]}
    return losses.mutual_supervision_loss(outputs, ids, np.array([len(text)]),
                                          LossConfig()).numpy()[0]


def test_mutual_supervision_with_a_repeated_character():
    # word "a b a" (ids 1 2 1) over a 1 x 6 map; slots 1 1 2 2 3 3, classes a a b b a b
    slots = np.array([[1, 1, 2, 2, 3, 3]])
    classes = np.array([[1, 1, 2, 2, 1, 2]])
    order_logits = _one_hot_logits(slots, 5)
    class_logits = _one_hot_logits(classes, 4)
    loc_logits = np.array([[3.0, 3.0, 3.0, 3.0, 3.0, -3.0]], np.float32)  # last pixel gated
    text = [1, 2, 1]
    got = _mutual(class_logits, order_logits, loc_logits, text, 4)
    ref = _mutual_reference(class_logits, order_logits, loc_logits, text, LossConfig())
    np.testing.assert_allclose(got, ref, rtol=1e-5)
    assert got > 0
    # the 'a' at pixel 4 (slot 3) goes to the second 'a' (position 3), not the first:
    # so every class-side pixel agrees with its slot and the geometry hit rate is 1.


def test_mutual_supervision_random_maps_match_reference():
    for seed in range(5):
        rng = np.random.default_rng(seed)
        class_logits = rng.normal(size=(3, 4, 5)).astype(np.float32) * 2
        order_logits = rng.normal(size=(3, 4, 6)).astype(np.float32) * 2
        loc_logits = rng.normal(size=(3, 4)).astype(np.float32) * 2
        text = [int(t) for t in rng.integers(1, 5, size=3)]
        got = _mutual(class_logits, order_logits, loc_logits, text, 5)
        ref = _mutual_reference(class_logits, order_logits, loc_logits, text, LossConfig())
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-6)


def test_mutual_supervision_empty_pseudo_labels_give_zero():
    class_logits = RNG.normal(size=(2, 3, 4)).astype(np.float32)
    order_logits = RNG.normal(size=(2, 3, 5)).astype(np.float32)
    loc_logits = np.full((2, 3), -5.0, np.float32)  # nothing passes the gate
    assert _mutual(class_logits, order_logits, loc_logits, [1, 2], 4) == 0.0


def test_mutual_supervision_has_no_gradient_through_its_assignments():
    class_logits = tf.Variable(RNG.normal(size=(1, 2, 3, 4)).astype(np.float32))
    order_logits = tf.Variable(RNG.normal(size=(1, 2, 3, 5)).astype(np.float32))
    loc_logits = tf.Variable(np.full((1, 2, 3), 2.0, np.float32))
    with tf.GradientTape() as tape:
        loss = losses.mutual_supervision_loss(
            {"class_logits": class_logits, "order_logits": order_logits,
             "loc_logits": loc_logits}, np.array([[1, 2, 3, 0]]), np.array([3]))
    grads = tape.gradient(loss, [class_logits, order_logits, loc_logits])
    assert grads[2] is None  # the gate Q is a constant here
    assert grads[0] is not None or grads[1] is not None


# ---- combination ---------------------------------------------------------------------------
def test_total_loss_masks_and_divides_by_global_batch():
    b, h, w = 4, 2, 3
    outputs = {"class_logits": RNG.normal(size=(b, h, w, 4)).astype(np.float32),
               "order_logits": RNG.normal(size=(b, h, w, 5)).astype(np.float32),
               "loc_logits": np.full((b, h, w), 2.0, np.float32)}
    batch = {"class_map": RNG.integers(0, 4, size=(b, h, w)).astype(np.int32),
             "order_map": RNG.integers(0, 5, size=(b, h, w)).astype(np.int32),
             "loc_map": RNG.uniform(size=(b, h, w)).astype(np.float32),
             "has_char_boxes": np.array([1, 1, 0, 1], np.float32),
             "text_ids": np.array([[1, 2, 0, 0]] * b, np.int32),
             "length": np.array([2] * b, np.int32)}
    cfg = LossConfig(class_weight=1.0, order_weight=10.0, loc_weight=10.0, mutual_weight=1.0)
    got = {k: v.numpy() for k, v in losses.total_loss(outputs, batch, 8, cfg).items()}
    has = batch["has_char_boxes"]
    cls = losses.class_segmentation_loss(outputs["class_logits"], batch["class_map"]).numpy()
    order = losses.order_segmentation_loss(outputs["order_logits"], batch["order_map"]).numpy()
    loc = losses.localization_loss(outputs["loc_logits"], batch["loc_map"]).numpy()
    mutual = losses.mutual_supervision_loss(outputs, batch["text_ids"], batch["length"],
                                            cfg).numpy()
    np.testing.assert_allclose(got["class_loss"], (cls * has).sum() / 8, rtol=1e-5)
    np.testing.assert_allclose(got["mutual_loss"], (mutual * (1 - has)).sum() / 8, rtol=1e-5)
    np.testing.assert_allclose(
        got["loss"], ((cls + 10 * order + 10 * loc) * has).sum() / 8
        + (mutual * (1 - has)).sum() / 8, rtol=1e-5)


# ---- word formation and decoding -----------------------------------------------------------
def test_word_formation_matches_loops():
    g = _softmax(RNG.normal(size=(2, 3, 4, 6)))
    s = _softmax(RNG.normal(size=(2, 3, 4, 5)))
    q = RNG.uniform(size=(2, 3, 4))
    probs, mass = word_formation.word_formation(tf.constant(g, tf.float32),
                                                tf.constant(s, tf.float32),
                                                tf.constant(q, tf.float32))
    for b in range(2):
        for k in range(4):
            hk = s[b, :, :, k + 1] * q[b]
            np.testing.assert_allclose(mass.numpy()[b, k], hk.sum(), rtol=1e-5)
            ref = (g[b] * hk[..., None]).sum((0, 1)) / hk.sum()
            np.testing.assert_allclose(probs.numpy()[b, k], ref, rtol=1e-5)
            np.testing.assert_allclose(probs.numpy()[b, k].sum(), 1.0, rtol=1e-5)


def _decode_reference(probs, mass, cfg, map_area=32 * 128):
    min_mass = cfg.min_slot_mass * map_area / (32 * 128)  # given for the 32x128 map
    threshold = max(min_mass, cfg.relative_slot_mass * mass.max())
    ids, scores = [], []
    for k in range(len(mass)):
        c = int(np.argmax(probs[k]))
        if mass[k] < threshold or c == 0 or probs[k, c] < cfg.min_char_score:
            break
        ids.append(c)
        scores.append(probs[k, c])
    return ids, scores


@pytest.mark.parametrize("map_area", [32 * 128, 16 * 64])
@pytest.mark.parametrize("case", ["normal", "mass_stop", "background_stop", "low_score_stop",
                                  "relative_mass", "thin_last_letter", "empty"])
def test_decoding_stop_rules(case, map_area):
    cfg = DecodeConfig()
    probs = np.full((5, 4), 0.02, np.float32)
    best = [1, 3, 2, 1, 2]
    for k, c in enumerate(best):
        probs[k, c] = 0.94
    # A slot's mass sums map pixels: a map with a quarter of the pixels has a quarter of it.
    shrink = map_area / (32 * 128)
    mass = np.array([30.0, 40.0, 35.0, 20.0, 1.0], np.float32) * shrink
    expected_len = 4
    if case == "mass_stop":
        mass[2] = 5.0 * shrink  # below the absolute floor of 8 (on the 32x128 map)
        expected_len = 2
    elif case == "background_stop":
        probs[1] = [0.9, 0.05, 0.03, 0.02]
        expected_len = 1
    elif case == "low_score_stop":
        probs[2] = [0.2, 0.25, 0.29, 0.26]  # best class 2 has 0.29 < L_score = 0.3
        expected_len = 2
    elif case == "relative_mass":
        mass = np.array([300.0, 400.0, 30.0, 300.0, 1.0], np.float32)  # 30 < 0.1 * 400
        expected_len = 2
    elif case == "thin_last_letter":  # an `l` with 0.15 of the largest mass is still read
        mass = np.array([50.0, 60.0, 45.0, 9.0, 1.0], np.float32) * shrink
        expected_len = 4
    elif case == "empty":
        mass[:] = 2.0 * shrink
        expected_len = 0
    got = decoding.decode(tf.constant(probs[None]), tf.constant(mass[None]), cfg, map_area)
    ref_ids, ref_scores = _decode_reference(probs, mass, cfg, map_area)
    assert len(ref_ids) == expected_len
    assert int(got.lengths[0]) == expected_len
    np.testing.assert_array_equal(got.ids.numpy()[0, :expected_len], ref_ids)
    assert not got.ids.numpy()[0, expected_len:].any()
    np.testing.assert_allclose(got.char_scores.numpy()[0, :expected_len], ref_scores, rtol=1e-6)
    np.testing.assert_allclose(got.word_scores.numpy()[0],
                               np.mean(ref_scores) if ref_scores else 0.0, rtol=1e-6)


def test_slot_overlap_matches_loops():
    s = _softmax(RNG.normal(size=(2, 3, 4, 5)))
    q = RNG.uniform(size=(2, 3, 4))
    got = word_formation.slot_overlap(tf.constant(s, tf.float32), tf.constant(q, tf.float32))
    for b in range(2):
        assert got.numpy()[b, 0] == 0.0
        for k in range(1, 4):
            hk, hp = s[b, :, :, k + 1] * q[b], s[b, :, :, k] * q[b]
            ref = np.minimum(hk, hp).sum() / min(hk.sum(), hp.sum())
            np.testing.assert_allclose(got.numpy()[b, k], ref, rtol=1e-5)


def test_a_slot_that_rereads_the_previous_one_ends_the_word():
    # Three characters in columns 0-1, 2-3 and 4-5 of a 1 x 8 map; a fourth slot lies on
    # the third character's pixels with a mass above every mass rule: a trailing duplicate.
    q = np.ones((1, 1, 8), np.float32)
    s = np.full((1, 1, 8, 6), 1e-4, np.float32)
    for k, columns in enumerate([(0, 1), (2, 3), (4, 5), (4, 5)], start=1):
        s[0, 0, columns, k] = 0.45
    s[0, 0, 6:, 0] = 1.0
    g = np.full((1, 1, 8, 4), 0.02, np.float32)
    for columns, c in [((0, 1), 1), ((2, 3), 3), ((4, 5), 2)]:
        g[0, 0, columns, c] = 0.94
    char_probs, mass = word_formation.word_formation(*map(tf.constant, (g, s, q)))
    overlap = word_formation.slot_overlap(tf.constant(s), tf.constant(q))
    np.testing.assert_allclose(overlap.numpy()[0, :4], [0.0, 0.0, 0.0, 1.0], atol=1e-3)
    cfg = DecodeConfig(min_slot_mass=0.1)
    assert int(decoding.decode(char_probs, mass, cfg, 8).lengths[0]) == 4  # without the rule
    got = decoding.decode(char_probs, mass, cfg, 8, overlap)
    assert int(got.lengths[0]) == 3
    np.testing.assert_array_equal(got.ids.numpy()[0, :3], [1, 3, 2])
    off = DecodeConfig(min_slot_mass=0.1, max_slot_overlap=1.0)
    assert int(decoding.decode(char_probs, mass, off, 8, overlap).lengths[0]) == 4


def test_class_loss_without_background_pixels_is_the_plain_mean():
    logits = RNG.normal(size=(1, 2, 3, 4)).astype(np.float32)
    labels = np.array([[[1, 2, 3], [1, 1, 2]]], np.int32)  # characters everywhere
    got = losses.class_segmentation_loss(logits, labels).numpy()[0]
    ref = np.mean([_ce(logits[0, i, j], labels[0, i, j]) for i in range(2) for j in range(3)])
    assert np.isfinite(got)
    np.testing.assert_allclose(got, ref, rtol=1e-5)


def test_pixel_cross_entropy_matches_tensorflow_in_value_and_gradient():
    rng = np.random.default_rng(5)
    logits = rng.normal(0, 3, size=(2, 3, 4, 7)).astype(np.float32)
    logits[0, 0, 0] = [60, -40, 0, 0, 0, 0, 0]  # p[label] ~ e^-100: the gradient stays exact
    labels = rng.integers(0, 7, size=(2, 3, 4)).astype(np.int32)
    labels[0, 0, 0] = 1
    weights = rng.uniform(size=(2, 3, 4)).astype(np.float32)
    logits_t = tf.constant(logits)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(logits_t)
        ours = losses.pixel_cross_entropy(labels, logits_t)
        theirs = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits_t)
        ours_sum, theirs_sum = tf.reduce_sum(ours * weights), tf.reduce_sum(theirs * weights)
    expected = theirs.numpy()
    expected[0, 0, 0] = -np.log(1e-37)  # the documented cap where p underflows
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-5, atol=1e-5)
    assert theirs.numpy()[0, 0, 0] > 99
    np.testing.assert_allclose(tape.gradient(ours_sum, logits_t).numpy(),
                               tape.gradient(theirs_sum, logits_t).numpy(), atol=1e-6)

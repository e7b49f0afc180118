"""The network: shapes, gradients to every variable, weight files, precision, overfitting."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from textscanner import decoding, losses, word_formation
from textscanner.backbones import available, build_backbone
from textscanner.config import LossConfig, ModelConfig
from textscanner.model import TextScanner
from textscanner.targets import TargetConfig, render_targets


def _batch(b=2, num_classes=37, seed=0, height=64, width=256):
    """Three characters with boxes in a `height` x `width` input (maps at half its size)."""
    rng = np.random.default_rng(seed)
    scale = height / 64
    quads = scale * np.array([[[20 + 20 * k, 8, 34 + 20 * k, 8, 34 + 20 * k, 24, 20 + 20 * k,
                                24] for k in range(3)]] * b, np.float32)
    ids = rng.integers(1, num_classes, size=(b, 3)).astype(np.int32)
    maps = render_targets(quads, ids, np.ones((b, 3), bool),
                          TargetConfig(map_height=height // 2, map_width=width // 2))
    text_ids = np.zeros((b, 30), np.int32)
    text_ids[:, :3] = ids
    return {"image": rng.uniform(size=(b, height, width, 3)).astype(np.float32),
            "text_ids": text_ids, "length": np.full(b, 3, np.int32),
            "has_char_boxes": np.array([1.0] * (b - 1) + [0.0], np.float32), **maps}


def test_registry_lists_both_backbones_and_rejects_unknown():
    assert {"small", "resnet50"} <= set(available())
    with pytest.raises(ValueError, match="unknown backbone"):
        build_backbone("vgg", (64, 256, 3))


@pytest.mark.parametrize("backbone", ["small", "resnet50"])
def test_every_trainable_variable_gets_a_nonzero_gradient(backbone):
    # The demo's 32x128 input: a quarter of the paper's compute, every layer the same.
    model = TextScanner(ModelConfig(num_classes=37, backbone=backbone, input_height=32,
                                    input_width=128)).build_for_input()
    batch = {key: tf.constant(value) for key, value in _batch(height=32, width=128).items()}
    variables = model.trainable_variables

    # Compiled, as training runs it (eagerly, the GRU's loop and ResNet-50 are thousands of
    # single-op dispatches).
    @tf.function(autograph=False)
    def outputs_and_gradients():
        with tf.GradientTape() as tape:
            outputs = model(batch["image"], training=True)
            loss = losses.total_loss(outputs, batch, 2, LossConfig())["loss"]
        return outputs, tape.gradient(loss, variables)

    outputs, grads = outputs_and_gradients()
    missing = [v.path for v, g in zip(variables, grads)
               if g is None or float(tf.reduce_max(tf.abs(g))) == 0.0]
    assert not missing, missing
    backbone_vars = model.backbone.trainable_variables
    assert backbone_vars and all(v.trainable for v in model.backbone.variables
                                 if "moving" not in v.path)
    assert outputs["class_logits"].shape == (2, 16, 64, 37)
    assert outputs["order_logits"].shape == (2, 16, 64, 31)
    assert outputs["loc_logits"].shape == (2, 16, 64)


def test_backbone_weights_from_local_file(tmp_path):
    source = build_backbone("small", (64, 256, 3))
    path = str(tmp_path / "small.weights.h5")
    source.save_weights(path)
    fresh = build_backbone("small", (64, 256, 3), weights=path)
    x = np.random.default_rng(1).uniform(size=(1, 64, 256, 3)).astype(np.float32)
    for a, b in zip(source(x, training=False), fresh(x, training=False)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # and through the model config, as the CLI passes it
    model = TextScanner(ModelConfig(num_classes=5, backbone_weights=path)).build_for_input()
    np.testing.assert_array_equal(model.backbone(x)[0].numpy(), source(x)[0].numpy())


def test_incompatible_or_missing_weights_give_clear_errors(tmp_path):
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    path = str(tmp_path / "other.weights.h5")
    other.save_weights(path)
    with pytest.raises(ValueError, match="do not fit backbone 'small'"):
        build_backbone("small", (64, 256, 3), weights=path)
    with pytest.raises(FileNotFoundError, match="not found"):
        build_backbone("small", (64, 256, 3), weights=str(tmp_path / "none.weights.h5"))


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_outputs_float32_and_finite_loss(policy):
    keras.mixed_precision.set_dtype_policy(policy)
    try:
        model = TextScanner(ModelConfig(num_classes=11)).build_for_input()
        batch = _batch(b=1, num_classes=11)
        outputs = tf.function(lambda images: model(images, training=True))(batch["image"])
        assert all(v.dtype == tf.float32 for v in outputs.values())
        compute = {layer.compute_dtype for layer in model.backbone.layers[2:]}
        assert compute == {policy.split("_")[1]}
        loss = losses.total_loss(outputs, batch, 1)["loss"]
        assert np.isfinite(float(loss))
    finally:
        keras.mixed_precision.set_dtype_policy("float32")


def test_small_model_overfits_and_reads_eight_words_exactly(tmp_path):
    from pipelines.dataset import InputConfig, InputPipeline
    from pipelines.synth import SynthConfig, write_synth
    from textscanner.charset import load_charset
    charset = load_charset("alnum36")
    write_synth(SynthConfig(output=str(tmp_path / "s"), num_samples=8, seed=5, num_shards=1,
                            num_workers=1, min_length=3, max_length=6, clean=True))
    # The demo's 32x128 input: a quarter of the paper's compute, the same network.
    pipe = InputPipeline(InputConfig(str(tmp_path / "s-*"), global_batch_size=8,
                                     is_training=False, image_height=32, image_width=128),
                         charset)
    batch = next(iter(pipe()))
    tf.keras.utils.set_random_seed(0)
    model = TextScanner(ModelConfig(num_classes=charset.num_classes, input_height=32,
                                    input_width=128)).build_for_input()
    # On one fixed batch the weights fit in ~100 steps, but batch norm's moving statistics
    # (Keras' momentum 0.99) trail them by hundreds more before inference reads as well.
    for layer in model._flatten_layers():
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.9
    optimizer = keras.optimizers.Adam(3e-3)
    optimizer.build(model.trainable_variables)

    @tf.function
    def train(steps):
        for _ in tf.range(steps):
            with tf.GradientTape() as tape:
                terms = losses.total_loss(model(batch["image"], training=True), batch, 8)
            grads = tape.gradient(terms["loss"], model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return terms["loss"]

    @tf.function
    def decode():
        probs = word_formation.probabilities(model(batch["image"], training=False))
        decoded = decoding.decode(*word_formation.word_formation(
            probs["class_probs"], probs["order_probs"], probs["loc_map"]),
            map_area=16 * 64)
        return decoded.ids, decoded.lengths

    def read():
        ids, lengths = decode()
        return [charset.decode(i[:n]) for i, n in zip(ids.numpy(), lengths.numpy())]

    truth = [t.decode().lower() for t in batch["text"].numpy()]
    first = float(train(tf.constant(1)))
    assert read() != truth
    for _ in range(28):  # at most 700 steps, read every 25; usually exact after 75-100
        last = float(train(tf.constant(25)))
        if read() == truth:
            break
    assert last < 0.1 * first
    assert read() == truth


def test_partially_matching_weights_are_rejected(tmp_path):
    """Keras only warns when a file covers part of a model; we refuse it."""
    from textscanner.backbones import load_weights_or_explain
    smaller = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="a")])
    path = str(tmp_path / "part.weights.h5")
    smaller.save_weights(path)
    bigger = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="a"),
                               keras.layers.Dense(2, name="b")])
    before = [v.numpy() for v in bigger.weights]
    with pytest.raises(ValueError, match="do not fit backbone .test."):
        load_weights_or_explain(bigger, path, "test")
    for v, b in zip(bigger.weights, before):  # left as it was
        np.testing.assert_array_equal(v.numpy(), b)

"""Augmentation kernels against references: TF's own projective transform op and a numpy
rendering of the colour formula."""

import numpy as np
import pytest
import tensorflow as tf

from pipelines.augment import (AugmentConfig, SeedStream, _blur, _colour_matrices, photometric,
                               random_projective, transform_quads, warp_images)


def _reference_warp(images, forward):
    """ImageProjectiveTransformV3 with the continuous-coordinate convention (pixel i spans
    [i, i + 1]): index = coordinate - 0.5 on both sides."""
    shift = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]], np.float32)
    unshift = np.array([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1]], np.float32)
    inverse = unshift @ np.linalg.inv(forward) @ shift
    inverse = inverse / inverse[:, 2:3, 2:3]
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=inverse.reshape(-1, 9)[:, :8].astype(np.float32),
        output_shape=tf.shape(images)[1:3], fill_value=0.0, interpolation="BILINEAR",
        fill_mode="NEAREST").numpy()


@pytest.mark.parametrize("jit", [False, True])
def test_warp_matches_tf_projective_transform(jit):
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(4, 16, 40, 3)).astype(np.float32)
    forward = random_projective(4, 16, 40, AugmentConfig(max_rotation_degrees=10.0),
                                SeedStream(tf.constant([3, 4], tf.int64))).numpy()
    warp = tf.function(warp_images, jit_compile=jit)
    got = warp(tf.constant(images), tf.constant(forward)).numpy()
    want = _reference_warp(images, forward)
    # Edge replication differs only in the outermost pixel ring (clamped coordinate vs
    # clamped sample), so compare the inside.
    np.testing.assert_allclose(got[:, 1:-1, 1:-1], want[:, 1:-1, 1:-1], atol=1e-4)


def test_warp_identity_and_integer_shift():
    images = tf.random.uniform([2, 8, 12, 3], seed=1)
    np.testing.assert_allclose(warp_images(images, tf.eye(3, batch_shape=[2])).numpy(),
                               images.numpy(), atol=1e-6)
    shift = np.tile(np.array([[1, 0, 2], [0, 1, 1], [0, 0, 1]], np.float32), (2, 1, 1))
    moved = warp_images(images, tf.constant(shift)).numpy()
    np.testing.assert_allclose(moved[:, 1:, 2:], images.numpy()[:, :-1, :-2], atol=1e-6)


def test_quads_move_with_the_points():
    forward = tf.constant([[[2.0, 0.0, 1.0], [0.0, 1.0, -3.0], [0.0, 0.0, 1.0]]])
    quads = tf.constant([[[0, 0, 4, 0, 4, 2, 0, 2]]], tf.float32)
    np.testing.assert_allclose(transform_quads(quads, forward).numpy(),
                               [[[1, -3, 9, -3, 9, -1, 1, -1]]])


def test_photometric_colour_contrast_brightness_match_formula():
    config = AugmentConfig(blur_probability=0.0, noise_probability=0.0)
    images = tf.random.uniform([3, 6, 10, 3], seed=2)
    seed = tf.constant([5, 6], tf.int64)
    got = photometric(images, config, SeedStream(seed)).numpy()
    # The same draws, in the same order, in numpy.
    rng = SeedStream(seed)
    colour = _colour_matrices(3, config, rng).numpy()
    contrast = rng.uniform([3, 1], *config.contrast_range).numpy()[:, :, None, None]
    brightness = rng.uniform([3, 1], -config.max_brightness,
                             config.max_brightness).numpy()[:, :, None, None]
    coloured = np.einsum("bij,bhwj->bhwi", colour, images.numpy())
    mean = coloured.mean(axis=(1, 2, 3), keepdims=True)
    want = np.clip((coloured - mean) * contrast + mean + brightness, 0.0, 1.0)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_blur_is_the_binomial_filter_with_replicated_edges():
    image = np.zeros((1, 5, 5, 3), np.float32)
    image[0, 2, 2] = 16.0
    got = _blur(tf.constant(image)).numpy()[0, :, :, 0]
    taps = np.array([1, 2, 1]) / 4.0
    np.testing.assert_allclose(got[1:4, 1:4], 16.0 * np.outer(taps, taps))
    assert got.sum() == pytest.approx(16.0)
    flat = _blur(tf.ones([1, 4, 4, 3])).numpy()
    np.testing.assert_allclose(flat, 1.0, atol=1e-6)  # edges replicated, not darkened

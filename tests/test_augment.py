"""Augmentation kernels against references: TF's own projective transform op and a numpy
rendering of the colour formula."""

import numpy as np
import pytest
import tensorflow as tf

from pipelines.augment import (AugmentConfig, AugmentDraws, SeedStream, _blur, _mean_colour,
                               augment_batch, blur_and_colour, random_projective,
                               transform_quads, warp_images)


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


def _numpy_blur(images):
    padded = np.pad(images, [(0, 0), (1, 1), (1, 1), (0, 0)], mode="edge")
    rows = 0.25 * padded[:, :-2] + 0.5 * padded[:, 1:-1] + 0.25 * padded[:, 2:]
    return 0.25 * rows[:, :, :-2] + 0.5 * rows[:, :, 1:-1] + 0.25 * rows[:, :, 2:]


def _photometric(images, draws):
    """augment_batch without geometry (draws.forward is None): colour, blur and noise."""
    return augment_batch(images, tf.zeros([tf.shape(images)[0], 1, 8]), draws)[0]


def _numpy_photometric(images, draws, blurred):
    """The documented formula: the first `blurred` images blurred, then per image
    c * M x + (1 - c) * mean(M x) + d plus scaled noise, clipped."""
    # The contrast pivots on the unblurred image's mean (over all rows when there are < 8).
    mean = np.einsum("bij,bhwj->bhwi", draws["colour"], images).mean(axis=(1, 2, 3),
                                                                        keepdims=True)
    images = images.copy()
    if blurred:
        images[:blurred] += draws["blur"] * (_numpy_blur(images[:blurred]) - images[:blurred])
    coloured = np.einsum("bij,bhwj->bhwi", draws["colour"], images)
    contrast = draws["contrast"][:, :, None, None]
    brightness = draws["brightness"][:, :, None, None]
    out = (coloured - mean) * contrast + mean + brightness
    if "noise" in draws:
        out = out + draws["noise_std"] * np.sqrt(3.0) * draws["noise"]
    return np.clip(out, 0.0, 1.0)


def test_photometric_matches_formula_without_blur_and_noise():
    config = AugmentConfig(geometric=False, blur_fraction=0.0, noise_probability=0.0)
    images = tf.random.uniform([3, 6, 10, 3], seed=2)  # < 8 rows: the mean uses all rows
    draws = AugmentDraws.draw(3, 6, 10, config, tf.constant([5, 6], tf.int64))
    assert draws.blur is None and draws.noise is None and draws.forward is None
    got = _photometric(images, draws).numpy()
    want = _numpy_photometric(images.numpy(), {k: v.numpy() for k, v in
                                               draws.as_dict().items()}, 0)
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("probability", [0.0, 0.3, 1.0])
def test_high_contrast_draws_take_their_share(probability):
    """A share of the images gets a contrast from the high range, the rest from the usual
    one; the two ranges meet at 1.3, so the share shows as the factors above it."""
    config = AugmentConfig(geometric=False, contrast_range=(0.6, 1.3),
                           high_contrast_probability=probability,
                           high_contrast_range=(1.3, 3.0))
    contrast = AugmentDraws.draw(2000, 4, 4, config,
                                 tf.constant([9, 10], tf.int64)).contrast.numpy()
    assert contrast.shape == (2000, 1) and contrast.min() >= 0.6 and contrast.max() <= 3.0
    high = contrast > 1.3
    assert abs(high.mean() - probability) < 0.04
    if probability:  # the high range is used across its width, not at one end
        assert contrast[high].max() > 2.8 and contrast[high].min() < 1.5


def test_high_contrast_clips_a_faded_word():
    """A faded dark-on-light image under contrast 3 (pivot: its mean) comes out with its
    ink clipped to flat black and its background brightened: the formula's clip."""
    config = AugmentConfig(geometric=False, blur_fraction=0.0, noise_probability=0.0,
                           high_contrast_probability=1.0, high_contrast_range=(3.0, 3.0),
                           saturation_range=(1.0, 1.0), max_hue_degrees=0.0,
                           grey_probability=0.0, max_brightness=0.0)
    image = np.full((1, 8, 16, 3), 0.7, np.float32)
    image[:, 2:6, 4:12] = 0.4  # ink over a quarter of the image; mean 0.625
    draws = AugmentDraws.draw(1, 8, 16, config, tf.constant([1, 1], tf.int64))
    got = _photometric(tf.constant(image), draws).numpy()
    np.testing.assert_allclose(got[:, 2:6, 4:12], 0.0, atol=1e-5)  # 0.625 - 3 * 0.225 < 0
    np.testing.assert_allclose(got[:, :2], 0.85, atol=1e-5)  # 0.625 + 3 * 0.075


@pytest.mark.parametrize("jit", [False, True])
def test_blur_hits_a_fixed_share_and_noise_is_scaled_per_image(jit):
    config = AugmentConfig(geometric=False, blur_fraction=0.25, noise_probability=1.0,
                           max_noise_std=0.2)
    images = tf.random.uniform([8, 6, 10, 3], seed=3)
    draws = AugmentDraws.draw(8, 6, 10, config, tf.constant([1, 2], tf.int64))
    assert draws.blur.shape == (2, 1, 1, 1)  # round(0.25 * 8) images: the batch's first two
    fn = tf.function(lambda x, d: _photometric(x, AugmentDraws(**d)), jit_compile=jit)
    got = fn(images, draws.as_dict()).numpy()
    want = _numpy_photometric(images.numpy(), {k: v.numpy() for k, v in
                                               draws.as_dict().items()}, 2)
    np.testing.assert_allclose(got, want, atol=1e-5)
    # Without the blur the same draws leave images 0 and 1 sharper (and the rest equal).
    sharp = fn(images, {**draws.as_dict(), "blur": tf.zeros([2, 1, 1, 1])}).numpy()
    assert np.abs(sharp[:2] - got[:2]).max() > 1e-3
    np.testing.assert_allclose(sharp[2:], got[2:], atol=1e-6)


def test_colour_commutes_with_the_warp():
    """augment_batch colours before warping (one pass without gathers); that is only right
    because bilinear sampling and the per-image linear colour map commute."""
    config = AugmentConfig(blur_fraction=0.0, noise_probability=0.0)
    images = tf.random.uniform([4, 16, 40, 3], seed=4)
    draws = AugmentDraws.draw(4, 16, 40, config, tf.constant([7, 8], tf.int64))
    np.testing.assert_allclose(warp_images(blur_and_colour(images, draws), draws.forward),
                               blur_and_colour(warp_images(images, draws.forward), draws),
                               atol=1e-5)
    warped, _ = augment_batch(images, tf.zeros([4, 1, 8]), draws)
    assert warped.shape == images.shape and 0.0 <= warped.numpy().min() <= 1.0


def test_blur_is_the_binomial_filter_with_replicated_edges():
    image = np.zeros((1, 5, 5, 3), np.float32)
    image[0, 2, 2] = 16.0
    got = _blur(tf.constant(image)).numpy()[0, :, :, 0]
    taps = np.array([1, 2, 1]) / 4.0
    np.testing.assert_allclose(got[1:4, 1:4], 16.0 * np.outer(taps, taps))
    assert got.sum() == pytest.approx(16.0)
    flat = _blur(tf.ones([1, 4, 4, 3])).numpy()
    np.testing.assert_allclose(flat, 1.0, atol=1e-6)  # edges replicated, not darkened


def test_mean_colour_samples_eight_rows():
    image = np.arange(64, dtype=np.float32)[None, :, None, None] * np.ones((2, 64, 5, 3))
    np.testing.assert_allclose(_mean_colour(tf.constant(image, tf.float32)).numpy(),
                               np.full((2, 3), np.arange(4, 64, 8).mean()))

"""The second reading: boxes around the found characters against a numpy reference, the
crop, the choice of the more confident reading, and the recognizer with and without it."""

import numpy as np
import pytest
import tensorflow as tf

from textscanner.reread import crop_to, more_confident, text_boxes


def _class_probs(foreground: np.ndarray) -> tf.Tensor:
    """[B, h, w, 3] class probabilities whose foreground (1 - background) is `foreground`."""
    background = 1.0 - foreground
    rest = foreground / 2.0
    return tf.constant(np.stack([background, rest, rest], axis=-1), tf.float32)


def _reference_box(foreground, threshold, margin, aspect):
    rows = np.nonzero((foreground > threshold).any(axis=1))[0]
    cols = np.nonzero((foreground > threshold).any(axis=0))[0]
    if not len(rows):
        return [0.0, 0.0, 1.0, 1.0]
    h, w = foreground.shape
    y0, y1, x0, x1 = rows[0] / h, (rows[-1] + 1) / h, cols[0] / w, (cols[-1] + 1) / w
    pad = margin * (y1 - y0)
    return [max(y0 - pad, 0), max(x0 - pad / aspect, 0), min(y1 + pad, 1),
            min(x1 + pad / aspect, 1)]


def test_boxes_match_the_reference():
    rng = np.random.default_rng(0)
    maps = np.zeros((4, 8, 32), np.float32)
    maps[0, 3:5, 10:20] = 0.9  # a word in the middle: the margin fits inside
    maps[1, 0:8, 0:32] = 0.9  # the whole image: clipped to it
    maps[2, 2:6, 1:31] = rng.uniform(0.0, 1.0, size=(4, 30))  # ragged, some below 0.5
    # maps[3]: nothing found -> the whole image
    got = text_boxes(_class_probs(maps), 0.5, 0.4, 4.0).numpy()
    want = np.array([_reference_box(m, 0.5, 0.4, 4.0) for m in maps])
    np.testing.assert_allclose(got, want, atol=1e-6)
    np.testing.assert_allclose(got[0], [0.375 - 0.1, 10 / 32 - 0.025, 0.625 + 0.1,
                                        20 / 32 + 0.025], atol=1e-6)
    np.testing.assert_allclose(got[1], [0, 0, 1, 1])
    np.testing.assert_allclose(got[3], [0, 0, 1, 1])


def test_crop_to_a_box_magnifies_its_content():
    image = np.zeros((1, 8, 32, 3), np.float32)
    image[0, 2:6, 8:24] = 1.0  # a bright block in the middle half
    cropped = crop_to(tf.constant(image), tf.constant([[2 / 8, 8 / 32, 6 / 8, 24 / 32]]))
    assert cropped.shape == image.shape
    assert cropped.numpy()[0, 1:-1, 1:-1].min() > 0.99  # the block now fills the image
    whole = crop_to(tf.constant(image), tf.constant([[0.0, 0.0, 1.0, 1.0]]))
    np.testing.assert_allclose(whole.numpy(), image, atol=1e-6)


def test_the_more_confident_reading_wins_per_image():
    first = {"confidence": tf.constant([0.9, 0.2, 0.5]),
             "ids": tf.constant([[1, 2], [3, 4], [5, 6]])}
    second = {"confidence": tf.constant([0.8, 0.7, 0.5]),
              "ids": tf.constant([[7, 8], [9, 1], [2, 3]])}
    out = more_confident(first, second)
    np.testing.assert_allclose(out["confidence"].numpy(), [0.9, 0.7, 0.5])
    np.testing.assert_array_equal(out["ids"].numpy(), [[1, 2], [9, 1], [5, 6]])


@pytest.fixture(scope="module")
def shipped():
    from loops.model_io import recognizer_from_checkpoint
    from loops.pretrained import resolve
    return recognizer_from_checkpoint(resolve("pretrained:small-alnum36"))


def _word_image(text: str, margin: float) -> np.ndarray:
    """`text` drawn dark on light with `margin` x its height of background on every side,
    resized to 32x128 as the reader does."""
    from PIL import Image, ImageDraw
    from pipelines.fonts import default_fonts, load_font
    font = load_font(default_fonts()[0], 40)
    left, top, right, bottom = font.getbbox(text)
    pad = int(margin * (bottom - top))
    image = Image.new("RGB", (right - left + 2 * pad, bottom - top + 2 * pad), (230, 225, 210))
    ImageDraw.Draw(image).text((pad - left, pad - top), text, font=font, fill=(20, 20, 40))
    return np.asarray(image.resize((128, 32), Image.BILINEAR), np.float32) / 255.0


def test_the_reader_reads_twice_and_keeps_the_better_reading(shipped):
    """With the second reading, a word lost in a wide margin is read from its own region;
    the result is never less confident than the first reading alone."""
    import dataclasses
    from loops.recognizer import Recognizer
    once = Recognizer(shipped.model, shipped.lookup,
                      dataclasses.replace(shipped.decode_config, reread_margin=0.0))
    twice = Recognizer(shipped.model, shipped.lookup,
                       dataclasses.replace(shipped.decode_config, reread_margin=0.4))
    words = ["open", "bank", "of", "india", "exit", "hotel", "sale", "taxi"]
    images = tf.constant(np.stack([_word_image(w, 2.5) for w in words]))
    first, both = once.read_images(images), twice.read_images(images)
    assert (both["confidence"].numpy() >= first["confidence"].numpy()).all()
    read_once = sum(t.decode() == w for t, w in zip(first["text"].numpy(), words))
    read_twice = sum(t.decode() == w for t, w in zip(both["text"].numpy(), words))
    assert read_twice > read_once, (first["text"].numpy(), both["text"].numpy())

"""Encoded bytes -> model input: RGB float32 in [0, 1] at a fixed size (in the graph).

Per image only the decode and the resize run (`resize_image`); where the source pixels land
(`resize_scale`) follows from the source sizes, so batches compute it vectorised.
"""

from __future__ import annotations

import tensorflow as tf

from textscanner.config import INPUT_HEIGHT, INPUT_WIDTH


def decode_rgb(encoded: tf.Tensor) -> tf.Tensor:
    """Any format TensorFlow reads (JPEG, PNG incl. RGBA/grey, GIF, BMP) -> [h, w, 3] uint8."""
    image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return image


def _fitted_size(source_hw: tf.Tensor, height: int, width: int) -> tf.Tensor:
    """[..., 2] int32 size of a source of size source_hw scaled to fit, aspect kept."""
    src = tf.cast(source_hw, tf.float32)
    scale = tf.minimum(height / src[..., 0], width / src[..., 1])
    fitted = tf.cast(tf.round(src * scale[..., None]), tf.int32)
    return tf.clip_by_value(fitted, 1, tf.constant([height, width]))


def resize_scale(source_hw: tf.Tensor, height: int = INPUT_HEIGHT, width: int = INPUT_WIDTH,
                 keep_aspect: bool = False) -> tf.Tensor:
    """[..., 2] (sx, sy) factors that map source pixels to output pixels, for sources of
    size source_hw [..., 2] (height, width)."""
    src = tf.cast(source_hw, tf.float32)[..., ::-1]
    if not keep_aspect:
        return tf.constant([width, height], tf.float32) / src
    return tf.cast(_fitted_size(source_hw, height, width)[..., ::-1], tf.float32) / src


def _shrink_or_grow(image: tf.Tensor, size) -> tf.Tensor:
    """Bilinear resize that low-passes when shrinking more than 2x. Bilinear reads the 2x2
    source pixels nearest each output pixel, which covers every source pixel up to 2x; beyond,
    a crop several times the input size (a photograph's word, not a synthetic one) would lose
    strokes to aliasing. The antialiasing kernel costs several times plain bilinear, so the
    words `synth` draws (within 2x of the input) skip it."""
    source = tf.cast(tf.shape(image)[:2], tf.float32)
    shrink = tf.reduce_max(source / tf.cast(size, tf.float32))
    return tf.cond(shrink > 2.0, lambda: tf.image.resize(image, size, antialias=True),
                   lambda: tf.image.resize(image, size))


def resize_image(image: tf.Tensor, height: int = INPUT_HEIGHT, width: int = INPUT_WIDTH,
                 keep_aspect: bool = False) -> tf.Tensor:
    """Resizes [h, w, 3] uint8 to [height, width, 3] float32 in [0, 1].

    Without keep_aspect the word is stretched to fill (the paper); with it, it is scaled to
    fit and padded on the right and bottom with its mean colour.
    """
    image = tf.image.convert_image_dtype(image, tf.float32)  # on the (smaller) source
    if not keep_aspect:
        return _shrink_or_grow(image, [height, width])
    new_hw = _fitted_size(tf.shape(image)[:2], height, width)
    out = _shrink_or_grow(image, new_hw)
    mean = tf.reduce_mean(out, axis=[0, 1])
    out = tf.pad(out - mean, [[0, height - new_hw[0]], [0, width - new_hw[1]], [0, 0]]) + mean
    return tf.ensure_shape(out, [height, width, 3])


def resize(image: tf.Tensor, height: int = INPUT_HEIGHT, width: int = INPUT_WIDTH,
           keep_aspect: bool = False) -> tuple[tf.Tensor, tf.Tensor]:
    """`resize_image`, and the [2] (sx, sy) factors that map source pixels to output pixels."""
    return (resize_image(image, height, width, keep_aspect),
            resize_scale(tf.shape(image)[:2], height, width, keep_aspect))


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def decode_opaque_rgb(encoded: tf.Tensor) -> tf.Tensor:
    """`decode_rgb`, with a PNG's transparency composited over white, as `convert` stores such
    images: three-channel decoding drops the alpha and keeps whatever colour the transparent
    pixels hold (a logo's black letters on transparent black come out black on black).
    Training reads converted records, which are opaque, through `decode_rgb` alone."""
    def over_white() -> tf.Tensor:
        rgba = tf.cast(tf.io.decode_png(encoded, channels=4), tf.float32)
        alpha = rgba[..., 3:] / 255.0
        return tf.cast(tf.round(rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)), tf.uint8)

    is_png = tf.equal(tf.strings.substr(encoded, 0, len(_PNG_SIGNATURE)), _PNG_SIGNATURE)
    image = tf.cond(is_png, over_white, lambda: decode_rgb(encoded))
    image.set_shape([None, None, 3])
    return image


def preprocess_encoded(encoded: tf.Tensor, keep_aspect: bool = False,
                       height: int = INPUT_HEIGHT, width: int = INPUT_WIDTH) -> tf.Tensor:
    """Encoded bytes -> [height, width, 3] float32: what serving and `predict` read (as
    training reads its records, transparency over white)."""
    return resize_image(decode_opaque_rgb(encoded), height, width, keep_aspect=keep_aspect)

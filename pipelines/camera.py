"""What the camera adds to a drawn word: a smear from a moving hand or sign, a glare of
reflected light, and a poor capture (faded, saved small). None of them moves a character,
so each keeps the word's quadrilaterals (a poor capture scales them with the image).

TensorFlow-free: synth's worker processes import it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from PIL import Image

from pipelines.synth_scene import SceneEffects
from pipelines.word_render import RenderedWord


def motion_blur(image: np.ndarray, length: int, angle: float) -> np.ndarray:
    """[h, w, c] `image` averaged over `length` copies spread evenly along a line through
    each pixel at `angle` degrees (0: horizontal, 90: vertical); the edges repeat."""
    if length < 2:
        return image.astype(np.float32)
    height, width = image.shape[:2]
    offsets = np.linspace(-(length - 1) / 2, (length - 1) / 2, length)
    dx = np.rint(offsets * np.cos(np.radians(angle))).astype(int)
    dy = np.rint(offsets * np.sin(np.radians(angle))).astype(int)
    pad = int(max(np.abs(dx).max(), np.abs(dy).max()))
    padded = np.pad(image.astype(np.float32), ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    total = np.zeros(image.shape, np.float32)
    for x, y in zip(dx, dy):
        total += padded[pad + y:pad + y + height, pad + x:pad + x + width]
    return total / length


def glare(image: np.ndarray, centre: tuple[float, float], radii: tuple[float, float],
          strength: float, colour: np.ndarray) -> np.ndarray:
    """[h, w, c] `image` under a patch of light: mixed with `colour` by `strength` at
    `centre` (x, y), falling off as a Gaussian with the given (x, y) radii."""
    rows, cols = np.mgrid[:image.shape[0], :image.shape[1]].astype(np.float32)
    distance = ((cols - centre[0]) / radii[0]) ** 2 + ((rows - centre[1]) / radii[1]) ** 2
    alpha = (strength * np.exp(-0.5 * distance))[..., None]
    return image.astype(np.float32) * (1 - alpha) + np.asarray(colour, np.float32) * alpha


def _to_image(array: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(array.round(), 0, 255).astype(np.uint8))


def shake_and_glare(word: RenderedWord, rng: np.random.Generator, effects: SceneEffects,
                    font_size: int) -> RenderedWord:
    """The word smeared by a moving camera (`effects.motion_blur` of words, in any
    direction) and washed out by a patch of reflected light over part of it
    (`effects.glare`); the quads and the ink mask stay."""
    blur, light = rng.random(2) < (effects.motion_blur, effects.glare)
    if not (blur or light):
        return word
    array = np.asarray(word.image, np.float32)
    if blur:
        length = max(2, round(font_size * rng.uniform(*effects.motion_blur_length)))
        array = motion_blur(array, length, float(rng.uniform(0, 180)))
    if light:
        height, width = array.shape[:2]
        points = word.quads.reshape(-1, 2)
        left, right = (points[:, 0].min(), points[:, 0].max()) if len(points) else (0, width)
        centre = (float(rng.uniform(left, right)), float(rng.uniform(0, height)))
        radii = (width * float(rng.uniform(0.1, 0.4)), height * float(rng.uniform(0.3, 1.0)))
        colour = rng.uniform(225, 255, size=3)
        array = glare(array, centre, radii, float(rng.uniform(*effects.glare_strength)), colour)
    return dataclasses.replace(word, image=_to_image(array))


def poor_capture(word: RenderedWord, rng: np.random.Generator) -> RenderedWord:
    """The word as a cheap camera or a web page keeps it: its colours faded towards their
    mean, and the crop saved 14-32 pixels high (never enlarged), the quads and the ink mask
    scaled with it. The caller then compresses it hard: JPEG's 8x8 blocks span whole faint
    strokes at that size, which is how real crops lose characters."""
    array = np.asarray(word.image, np.float32)
    mean = array.mean(axis=(0, 1))
    image = _to_image(mean + (array - mean) * float(rng.uniform(0.35, 0.85)))
    height = min(int(rng.integers(14, 33)), image.height)
    width = max(1, round(image.width * height / image.height))
    quads = word.quads.copy()
    quads[:, 0::2] *= width / image.width
    quads[:, 1::2] *= height / image.height
    ink = Image.fromarray(word.ink).resize((width, height), Image.Resampling.BILINEAR)
    return RenderedWord(image.resize((width, height), Image.Resampling.BILINEAR),
                        quads.astype(np.float32), np.asarray(ink), word.hued)

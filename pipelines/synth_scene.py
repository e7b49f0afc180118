"""What makes a synthetic word look photographed: natural-image and procedural backgrounds, a
text colour chosen against the background under the word (by its lightness, or for some
words on a flat background by its hue), shadows and borders, curved baselines, outlined,
dotted, embossed and spaced-out lettering, perspective, neighbouring text, occlusion, loose
and tight crops, low resolution, and what the camera adds (pipelines/camera.py).

The photographs are those scikit-image (a dependency) ships in its package: the same files
on every machine, never fetched at run time. TensorFlow-free: synth's workers import it.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import os

import numpy as np
from PIL import Image

# scikit-image's bundled photographs and textures (its files of text, diagrams, micrographs
# and astronomy are left out: a background must not hold text of its own).
PHOTO_NAMES = ("astronaut.png", "brick.png", "camera.png", "chelsea.png", "coffee.png",
               "coins.png", "grass.png", "gravel.png", "moon.png", "motorcycle_left.png",
               "motorcycle_right.png", "rocket.jpg")
LUMA = np.array([0.299, 0.587, 0.114], np.float32)
MIN_CONTRAST = 90.0  # luma difference between text and the background under it
# A colour's chroma (YIQ's I and Q) and the RGB that a unit of each adds (no luma).
RGB_TO_IQ = np.array([[0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
IQ_TO_RGB = np.array([[0.956, 0.621], [-0.272, -0.647], [-1.106, 1.703]])
MIN_HUE_DISTANCE = 120.0  # RGB distance between text told by its hue and the background


@dataclasses.dataclass(frozen=True)
class SceneEffects:
    """Probabilities (per word) of each effect, and their sizes."""

    photo_background: float = 0.0  # a crop of a bundled photograph
    texture_background: float = 0.0  # procedural noise and stripes in a random palette
    shadow: float = 0.0  # a drop shadow in another colour
    border: float = 0.0  # an outline in another colour
    curve: float = 0.0  # a baseline bent into a parabola...
    max_curve: float = 0.3  # ...whose ends rise or fall by up to this x the font size
    perspective: float = 0.0  # corners moved by up to max_perspective x the side
    max_perspective: float = 0.1
    neighbours: float = 0.0  # other text cut by the crop's left and right edges
    occlusion: float = 0.0  # a bar or blot over part of the word
    low_resolution: float = 0.0  # downsampled by 1.5-3x, then back up
    min_jpeg_quality: int = 80
    # A poor capture (camera.poor_capture): faded, saved small and compressed hard, as
    # phones and web pages keep crops; together these erase strokes that each alone leaves.
    poor_capture: float = 0.0
    poor_capture_jpeg_quality: tuple[int, int] = (15, 50)
    # A loose crop: each side's margin widened by a further loose_crop_margin x the font
    # size, as a detector's box or a hand-drawn one leaves room around the word (the
    # background, and any text beside the word, continue into it).
    loose_crop: float = 0.0
    loose_crop_margin: tuple[float, float] = (0.15, 0.8)
    # A tight crop (of the words not cropped loosely): every margin drawn from
    # tight_crop_margin (top and bottom) and tight_crop_side (left and right) x the font size,
    # below zero cutting into the glyphs, as annotators' and detectors' boxes cut real words.
    tight_crop: float = 0.0
    tight_crop_margin: tuple[float, float] = (-0.1, 0.03)
    tight_crop_side: tuple[float, float] = (-0.04, 0.03)
    # Outlined lettering, as signs and posters draw it: the glyphs' contours in the text
    # colour, outline_width x the font size wide, and their inside a faint tint of it
    # (outline_inside: its opacity), so that the background shows through the strokes.
    outline: float = 0.0
    outline_width: tuple[float, float] = (0.04, 0.12)
    outline_inside: tuple[float, float] = (0.0, 0.35)
    # Letters set apart, as signs track their capitals, or crowded, as logos and condensed
    # signs kern them: the space between letters drawn from letter_spacing_range x the font
    # size instead; below zero (crowded) for crowded_share of these words, above it otherwise.
    letter_spacing: float = 0.0
    letter_spacing_range: tuple[float, float] = (-0.15, 1.0)
    crowded_share: float = 0.4
    # Letters of words not outlined drawn as LED and dot-matrix displays show them, through
    # a grid of dots dot_pitch x the font size apart; or pressed into the surface (stamped
    # metal, engraved stone), drawn only by lit and shaded edges relief_depth x it wide.
    dot_matrix: float = 0.0
    dot_pitch: tuple[float, float] = (0.08, 0.16)
    relief: float = 0.0
    relief_depth: tuple[float, float] = (0.03, 0.07)
    # What a handheld camera adds (camera.shake_and_glare): a smear motion_blur_length x the
    # font size long in any direction, and a patch of reflected light (a glossy sign, a
    # window) that washes out part of the word by glare_strength at its brightest.
    motion_blur: float = 0.0
    motion_blur_length: tuple[float, float] = (0.06, 0.25)
    glare: float = 0.0
    glare_strength: tuple[float, float] = (0.4, 0.85)
    # Of the words on a flat background (a photograph's or a texture's colours vary too much
    # under a word for this), those told from it mostly by their hue, as red or blue on
    # black, white on yellow or orange, red on blue are: the text's luma only
    # hue_contrast_luma from the background's, where the other words keep MIN_CONTRAST.
    hue_contrast: float = 0.0
    hue_contrast_luma: tuple[float, float] = (25.0, 75.0)
    # Words turned further than `synth`'s usual few degrees: by tilt_degrees either way, as
    # a word on a tilted sign, or in a photograph held askew, lies in the upright box that
    # annotators and detectors draw around it (the crop stays upright around the word).
    tilt: float = 0.0
    tilt_degrees: tuple[float, float] = (5.0, 15.0)


PLAIN = SceneEffects()
PHOTO = SceneEffects(photo_background=0.35, texture_background=0.3, shadow=0.15, border=0.1,
                     curve=0.2, perspective=0.4, neighbours=0.35, occlusion=0.1,
                     low_resolution=0.25, min_jpeg_quality=35, poor_capture=0.25,
                     loose_crop=0.3, tight_crop=0.25, outline=0.12, letter_spacing=0.2,
                     dot_matrix=0.06, relief=0.06, motion_blur=0.08, glare=0.08,
                     hue_contrast=0.3, tilt=0.15)
STYLES = {"plain": PLAIN, "photo": PHOTO}


def photo_folder() -> str | None:
    """scikit-image's data folder, found without importing scikit-image; None without it."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.join(spec.submodule_search_locations[0], "data")


_photos: list[np.ndarray] = []


def photos() -> list[np.ndarray]:
    """The bundled photographs as RGB uint8 arrays (loaded once per process)."""
    if not _photos:
        folder = photo_folder()
        if folder is None:
            raise FileNotFoundError("photo backgrounds come with scikit-image, which is not "
                                    "installed: pip install scikit-image, or --synth_style=plain")
        for name in PHOTO_NAMES:
            with Image.open(os.path.join(folder, name)) as image:
                _photos.append(np.asarray(image.convert("RGB")))
    return _photos


def photo_background(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """[h, w, 3] float32: a randomly scaled, flipped and recoloured crop of a photograph."""
    width, height = size
    photo = photos()[rng.integers(len(photos()))]
    scale = float(rng.uniform(0.25, 1.2))  # photo pixels per output pixel
    crop_w = min(photo.shape[1], max(2, round(width * scale)))
    crop_h = min(photo.shape[0], max(2, round(height * scale)))
    x0 = int(rng.integers(photo.shape[1] - crop_w + 1))
    y0 = int(rng.integers(photo.shape[0] - crop_h + 1))
    crop = Image.fromarray(photo[y0:y0 + crop_h, x0:x0 + crop_w])
    if rng.random() < 0.5:
        crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    array = np.asarray(crop.resize((width, height), Image.Resampling.BILINEAR), np.float32)
    grey = array @ LUMA
    saturation = float(rng.uniform(0.0, 1.2))
    array = grey[..., None] + saturation * (array - grey[..., None])
    return array * float(rng.uniform(0.6, 1.2)) + float(rng.uniform(-40, 40))


def texture_background(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """[h, w, 3] float32: two random colours blended by multi-scale noise, maybe striped."""
    width, height = size
    field = np.zeros((height, width), np.float32)
    for octave in range(3):
        cells = 2 ** (octave + int(rng.integers(1, 4)))
        grid = rng.normal(size=(max(2, height * cells // max(width, 1) + 2), cells + 2))
        layer = Image.fromarray(grid.astype(np.float32), mode="F").resize(
            (width, height), Image.Resampling.BICUBIC)
        field += np.asarray(layer) / (octave + 1)
    if rng.random() < 0.3:
        angle, period = rng.uniform(0, np.pi), rng.uniform(4, 30)
        ys, xs = np.mgrid[0:height, 0:width]
        field += 1.5 * np.sin((xs * np.cos(angle) + ys * np.sin(angle)) * 2 * np.pi / period)
    weight = 1.0 / (1.0 + np.exp(-field * rng.uniform(0.5, 2.0)))
    low, high = rng.uniform(0, 255, size=(2, 3)).astype(np.float32)
    return low + weight[..., None] * (high - low)


def contrasting_colour(rng: np.random.Generator, background_luma: float
                       ) -> tuple[int, int, int]:
    """A random colour whose luma differs from `background_luma` by at least MIN_CONTRAST."""
    for _ in range(100):
        colour = rng.integers(0, 256, size=3)
        if abs(float(colour @ LUMA) - background_luma) > MIN_CONTRAST:
            return tuple(int(v) for v in colour)
    return (0, 0, 0) if background_luma > 127 else (255, 255, 255)


def hue_contrasting_colour(background: np.ndarray, luma_difference: float, turn: float,
                           saturation: float) -> tuple[int, int, int] | None:
    """A colour `luma_difference` brighter than `background` (RGB; darker when negative, or
    when brighter would leave 0-255), with `saturation` (0-1) of the most chroma RGB allows
    at that luma, its hue opposite the background's turned by `turn` radians (-pi/2 to pi/2);
    None when it is not MIN_HUE_DISTANCE from the background, and so would not be read by
    its hue."""
    background = np.asarray(background, np.float64)
    luma = float(background @ LUMA)
    target = luma + luma_difference
    if not 0.0 <= target <= 255.0:
        target = luma - luma_difference
    i, q = RGB_TO_IQ @ background
    # Against a grey, any hue: `turn` spans half the circle, twice it the whole.
    angle = math.atan2(q, i) + math.pi + turn if math.hypot(i, q) > 10 else 2 * turn
    direction = IQ_TO_RGB @ np.array([math.cos(angle), math.sin(angle)])
    # The most chroma along `direction` that keeps every channel within 0-255.
    reach = min((255.0 - target) / d if d > 0 else -target / d
                for d in direction if abs(d) > 1e-9)
    colour = np.clip(np.round(target + saturation * reach * direction), 0, 255)
    if np.linalg.norm(colour - background) < MIN_HUE_DISTANCE:
        return None
    return tuple(int(v) for v in colour)

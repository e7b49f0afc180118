"""How one synthetic word is drawn: glyph by glyph into an ink mask, composited over a
background, then moved through stretch, rotation, shear and perspective together with each
character's quadrilateral, cropped, and degraded. `synth` decides what to draw.

TensorFlow-free: synth's worker processes import it.
"""

from __future__ import annotations

import dataclasses
import string

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from pipelines.rectify import apply_homography, homography
from pipelines.synth_scene import (LUMA, PLAIN, SceneEffects, contrasting_colour,
                                   hue_contrasting_colour, photo_background,
                                   texture_background)


def _background(rng: np.random.Generator, size: tuple[int, int],
                colour: tuple[int, ...]) -> Image.Image:
    """A flat colour, maybe with a gradient or a soft texture (the plain style)."""
    width, height = size
    base = np.empty((height, width, 3), np.float32)
    base[:] = colour
    style = rng.random()
    if style < 0.3:  # horizontal or vertical gradient
        ramp = np.linspace(-1, 1, width if rng.random() < 0.5 else height, dtype=np.float32)
        ramp = ramp[None, :, None] if ramp.size == width else ramp[:, None, None]
        base += ramp * rng.uniform(10, 35)
    elif style < 0.5:  # soft texture
        small = rng.normal(0, rng.uniform(8, 25), size=(max(height // 8, 1), max(width // 8, 1), 3))
        texture = Image.fromarray(np.clip(small + 128, 0, 255).astype(np.uint8))
        base += np.asarray(texture.resize((width, height), Image.BILINEAR), np.float32) - 128
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))


@dataclasses.dataclass(frozen=True)
class Outline:
    """Letters drawn as their contours: a ring `width` pixels wide centred on each glyph's
    edge in the text colour, and the inside at opacity `inside` of it."""

    width: int
    inside: float


def dot_screen(shape: tuple[int, int], pitch: int) -> np.ndarray:
    """[h, w] in {0, 1}: round dots 0.84 x `pitch` across on a square grid of `pitch` pixels,
    through which a dot-matrix or LED display shows its letters."""
    centre = (pitch - 1) / 2
    rows = np.arange(shape[0])[:, None] % pitch - centre
    cols = np.arange(shape[1])[None, :] % pitch - centre
    return (rows ** 2 + cols ** 2 <= (0.42 * pitch) ** 2).astype(np.float32)


def lettering(ink: Image.Image, outline: Outline | None, dot_pitch: int | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """([h, w] where the letters are, [h, w] the text colour's opacity), both in [0, 1]: the
    glyph mask twice, or for an outline the mask grown by half the ring and the ring over
    the tinted inside; with `dot_pitch` the opacity only on a grid of dots."""
    mask = np.asarray(ink, np.float32) / 255.0
    extent, opacity = mask, mask
    if outline is not None:
        grow, shrink = (outline.width + 1) // 2, outline.width // 2
        extent = np.asarray(ink.filter(ImageFilter.MaxFilter(2 * grow + 1)), np.float32) / 255.0
        inner = (np.asarray(ink.filter(ImageFilter.MinFilter(2 * shrink + 1)), np.float32)
                 / 255.0 if shrink else mask)
        opacity = np.maximum(np.clip(extent - inner, 0.0, 1.0), inner * outline.inside)
    if dot_pitch is not None:
        opacity = opacity * dot_screen(mask.shape, dot_pitch)
    return extent, opacity


def _shifted(mask: np.ndarray, d: int) -> np.ndarray:
    """`mask` moved d pixels right and down (left and up for d < 0), zeros shifted in."""
    out = np.zeros_like(mask)
    if d >= 0:
        out[d:, d:] = mask[:mask.shape[0] - d, :mask.shape[1] - d]
    else:
        out[:d, :d] = mask[-d:, -d:]
    return out


def relief(base: np.ndarray, letters: np.ndarray, depth: int) -> np.ndarray:
    """The letters pressed into the surface `base` ([h, w, 3]): a shade darker than it, lit
    on the edges that face down and right, shaded on those that face up and left, each
    `depth` pixels wide; nothing but the surface's own colour draws them."""
    lit = np.clip(letters - _shifted(letters, -depth), 0.0, 1.0)[..., None]
    shade = np.clip(letters - _shifted(letters, depth), 0.0, 1.0)[..., None]
    image = base * (1 - 0.15 * letters[..., None])
    image = image * (1 - shade) + image * 0.35 * shade
    return image * (1 - lit) + np.minimum(image * 1.6 + 60, 255) * lit


@dataclasses.dataclass(frozen=True)
class WordVariant:
    """What `synth` draws for a word from streams of its own (so that each, when added, left
    every other draw of a seed unchanged). None keeps `render_word`'s usual drawing."""

    extra_margins: np.ndarray | None = None  # [4] left, top, right, bottom, x the font size
    outline: Outline | None = None
    letter_spacing: float | None = None  # x the font size, in place of the drawn spacing
    dot_pitch: int | None = None  # letters shown through a grid of dots this many pixels apart
    relief: int | None = None  # letters pressed into the surface, edges this many pixels wide
    # [4] left, top, right, bottom margins x the font size in place of the drawn ones: a
    # tight crop, as annotators and detectors cut words, below zero cutting into the glyphs
    # (their boxes are then clipped to the image, as `convert` clips a real crop's).
    tight_margins: np.ndarray | None = None
    # (luma difference, hue turn in radians, saturation 0-1): on a flat background, text
    # told from it mostly by its hue (synth_scene.hue_contrasting_colour).
    hue_contrast: tuple[float, float, float] | None = None
    rotation: float | None = None  # degrees, in place of the drawn rotation (a tilted word)


@dataclasses.dataclass
class RenderedWord:
    image: Image.Image
    quads: np.ndarray  # [len(text), 8] float32, each character's quadrilateral
    ink: np.ndarray  # [h, w] uint8, the word's own glyphs (not shadows or neighbours)
    hued: bool = False  # the text told from its background by hue (WordVariant.hue_contrast)


def render_word(text: str, font: ImageFont.FreeTypeFont, rng: np.random.Generator,
                clean: bool = False, max_rotation: float = 4.0, max_shear: float = 0.15,
                blur_probability: float = 0.3, noise_probability: float = 0.3,
                stroke_probability: float = 0.0, max_stretch: float = 0.0,
                effects: SceneEffects = PLAIN, variant: WordVariant = WordVariant()
                ) -> RenderedWord:
    """Draws `text` one glyph at a time into an ink mask, composites it over a background,
    and moves the image, the mask and the quads through the same transforms.

    `variant.extra_margins` widens the crop beyond its usual margins (a loose crop); the
    canvas grows to hold them. `variant.tight_margins` replaces them (a tight crop).
    `variant.outline` draws the letters (and any text beside them) as contours,
    `variant.dot_pitch` as dots, `variant.relief` pressed into the background; the ink mask
    stays the glyphs. `variant.letter_spacing` sets the letters apart or crowds them;
    `variant.rotation` turns the word further than `max_rotation`."""
    if clean:
        effects = PLAIN
    chance = (lambda p: rng.random() < p) if not clean else (lambda p: False)
    ascent, descent = font.getmetrics()
    size = font.size
    stroke = 0
    if chance(stroke_probability):
        stroke = max(1, round(size * float(rng.uniform(0.02, 0.05))))
    spacing = 0.0 if clean else float(rng.uniform(-0.04, 0.25)) * size
    if variant.letter_spacing is not None:
        spacing = variant.letter_spacing * size
    spacing += 2 * stroke
    extra = (np.zeros(4) if variant.extra_margins is None
             else np.asarray(variant.extra_margins, np.float64))
    pad = int(np.ceil(size * (1.0 + extra.max())))
    advances = [font.getlength(c) for c in text]
    extent = sum(advances) + spacing * (len(text) - 1)
    bend = float(rng.uniform(-1, 1)) * effects.max_curve * size if chance(effects.curve) else 0.0
    width = int(extent + 2 * pad)
    height = int(ascent + descent + 2 * pad + abs(bend))
    baseline_top = pad + max(0.0, -bend)
    ink = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(ink)
    quads = []
    x = float(pad)
    for char, advance in zip(text, advances):
        # A bent baseline: each glyph rises or falls with the square of its distance from
        # the word's middle (glyphs are moved, not rotated, so the quads stay exact).
        y = baseline_top + bend * ((x + advance / 2 - pad - extent / 2) / max(extent / 2, 1)) ** 2
        draw.text((x, y), char, font=font, fill=255, stroke_width=stroke, stroke_fill=255)
        left, top, right, bottom = font.getbbox(char, stroke_width=stroke)
        x0, y0, x1, y1 = x + left, y + top, x + right, y + bottom
        quads.append([x0, y0, x1, y0, x1, y1, x0, y1])
        x += advance + spacing
    quads = np.asarray(quads, np.float64)
    others = _neighbours(font, rng, (width, height), pad, x - spacing, baseline_top,
                         spacing + float(rng.uniform(0.2, 0.4)) * size) \
        if chance(effects.neighbours) else None

    image, fill, hued = _paint(rng, ink, others, effects, chance, size, variant)
    layers = [image, ink] + ([others] if others is not None else [])
    if max_stretch > 0 and not clean:
        factor = float(np.exp(rng.uniform(-1, 1) * np.log1p(max_stretch)))
        layers, quads = _stretch(layers, quads, factor)
    if not clean:
        layers, quads = _warp(layers, quads, rng, fill, max_rotation, max_shear,
                              variant.rotation)
        if chance(effects.perspective):
            layers, quads = _perspective(layers, quads, rng, fill, effects.max_perspective)
    layers, quads = _crop(layers, quads, rng, size, clean, beside=others is not None,
                          extra=extra, tight=variant.tight_margins)
    image, ink = layers[0], layers[1]
    if chance(effects.occlusion):
        image = _occlude(image, quads, rng)
    if chance(effects.low_resolution):
        factor = float(rng.uniform(1.5, 3.0))
        small = (max(1, round(image.width / factor)), max(1, round(image.height / factor)))
        image = image.resize(small, Image.Resampling.BILINEAR).resize(
            image.size, Image.Resampling.BILINEAR)
    if chance(blur_probability):
        image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.2))))
    if chance(noise_probability):
        array = np.asarray(image, np.float32)
        array += rng.normal(0, rng.uniform(2, 10), size=array.shape)
        image = Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))
    return RenderedWord(image, quads.astype(np.float32), np.asarray(ink), hued)


def _neighbours(font: ImageFont.FreeTypeFont, rng: np.random.Generator, size: tuple[int, int],
                start: float, end: float, top: float, gap: float) -> Image.Image:
    """A mask of other text beside the word, a word-gap away on both sides, running off the
    canvas: the crop's margins show parts of it, as in a crop from a line of text."""
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    glyphs = string.ascii_letters + string.digits
    x = end + gap
    while x < size[0]:
        char = glyphs[rng.integers(len(glyphs))]
        draw.text((x, top), char, font=font, fill=255)
        x += font.getlength(char)
    x = start - gap
    while x > 0:
        char = glyphs[rng.integers(len(glyphs))]
        x -= font.getlength(char)
        draw.text((x, top), char, font=font, fill=255)
    return mask


def _paint(rng: np.random.Generator, ink: Image.Image, others: Image.Image | None,
           effects: SceneEffects, chance, size: int, variant: WordVariant = WordVariant()
           ) -> tuple[Image.Image, tuple[int, ...], bool]:
    """The background with the text composited over it (shadow and border first), the
    background's mean colour, which fills what transforms uncover, and whether the text is
    told from the background by hue."""
    width, height = ink.size
    kind = rng.random()
    if kind < effects.photo_background:
        base = photo_background(rng, (width, height))
    elif kind < effects.photo_background + effects.texture_background:
        base = texture_background(rng, (width, height))
    else:
        colour = tuple(int(v) for v in rng.integers(0, 256, size=3))
        base = np.asarray(_background(rng, (width, height), colour), np.float32)
    base = np.clip(base, 0, 255)
    mask, opacity = lettering(ink, variant.outline, variant.dot_pitch)
    under = float((base @ LUMA)[mask > 0.5].mean()) if (mask > 0.5).any() \
        else float((base @ LUMA).mean())
    text_colour = np.asarray(contrasting_colour(rng, under), np.float32)
    flat = kind >= effects.photo_background + effects.texture_background
    by_hue = None
    if variant.hue_contrast is not None and flat:
        under_colour = (base[mask > 0.5] if (mask > 0.5).any() else base.reshape(-1, 3)).mean(0)
        by_hue = hue_contrasting_colour(under_colour, *variant.hue_contrast)
        if by_hue is not None:
            text_colour = np.asarray(by_hue, np.float32)

    def over(image: np.ndarray, alpha: np.ndarray, colour: np.ndarray) -> np.ndarray:
        return image * (1 - alpha[..., None]) + colour * alpha[..., None]

    image = base
    if chance(effects.shadow):
        dx, dy = (int(v) for v in rng.integers(1, max(2, size // 10) + 1, size=2))
        shadow = np.zeros_like(mask)
        shadow[dy:, dx:] = mask[:height - dy, :width - dx]
        image = over(image, shadow * float(rng.uniform(0.5, 1.0)),
                     np.asarray(contrasting_colour(rng, float(text_colour @ LUMA)), np.float32))
    if chance(effects.border):
        shape = Image.fromarray(np.round(mask * 255).astype(np.uint8))
        grown = np.asarray(shape.filter(ImageFilter.MaxFilter(2 * max(1, size // 16) + 1)),
                           np.float32) / 255.0
        image = over(image, grown,
                     np.asarray(contrasting_colour(rng, float(text_colour @ LUMA)), np.float32))
    if others is not None:
        others_extent, others_opacity = lettering(others, variant.outline, variant.dot_pitch)
        mask, opacity = np.maximum(mask, others_extent), np.maximum(opacity, others_opacity)
    image = over(image, opacity, text_colour)
    if variant.relief is not None:  # after the colours, drawn anyway to keep the boxes as they were
        image = relief(base, mask, variant.relief)
    fill = tuple(int(v) for v in np.clip(base.reshape(-1, 3).mean(0), 0, 255))
    hued = by_hue is not None and variant.relief is None  # relief draws no text colour
    return Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)), fill, hued


def _fills(layers: list[Image.Image], fill: tuple[int, ...]) -> list:
    """What each layer shows where a transform uncovers it: the colour, or no ink."""
    return [fill] + [0] * (len(layers) - 1)


def _stretch(layers: list[Image.Image], quads: np.ndarray, factor: float
             ) -> tuple[list[Image.Image], np.ndarray]:
    """Scales the width by `factor`; the quads' x coordinates follow."""
    old_width = layers[0].width
    width = max(1, round(old_width * factor))
    layers = [layer.resize((width, layer.height), Image.Resampling.BICUBIC) for layer in layers]
    quads = quads.copy()
    quads[:, 0::2] *= width / old_width
    return layers, quads


def _transform(layers: list[Image.Image], quads: np.ndarray, forward: np.ndarray,
               size: tuple[int, int], fill: tuple[int, ...]
               ) -> tuple[list[Image.Image], np.ndarray]:
    """Every layer and the quads through the 3x3 map `forward` (input -> output pixels)."""
    inverse = np.linalg.inv(forward)  # Pillow maps output pixels back to input pixels
    coefficients = tuple((inverse / inverse[2, 2]).reshape(-1)[:8])
    moved = [layer.transform(size, Image.Transform.PERSPECTIVE, coefficients,
                             resample=Image.Resampling.BILINEAR, fillcolor=value)
             for layer, value in zip(layers, _fills(layers, fill))]
    return moved, apply_homography(forward, quads.reshape(-1, 2)).reshape(-1, 8)


def _warp(layers: list[Image.Image], quads: np.ndarray, rng: np.random.Generator,
          fill: tuple[int, ...], max_rotation: float, max_shear: float,
          rotation: float | None = None) -> tuple[list[Image.Image], np.ndarray]:
    """Small rotation (`rotation` degrees instead, when given) and shear about the centre;
    the quads move with the pixels."""
    # drawn all the same, so that every later draw from rng stays as it was
    angle = np.deg2rad(rng.uniform(-max_rotation, max_rotation))
    if rotation is not None:
        angle = np.deg2rad(rotation)
    shear = rng.uniform(-max_shear, max_shear)
    cos, sin = np.cos(angle), np.sin(angle)
    linear = np.array([[cos, -sin], [sin, cos]]) @ np.array([[1.0, shear], [0.0, 1.0]])
    w, h = layers[0].size
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64) - [w / 2, h / 2]
    moved = corners @ linear.T
    new_w = int(np.ceil(moved[:, 0].max() - moved[:, 0].min()))
    new_h = int(np.ceil(moved[:, 1].max() - moved[:, 1].min()))
    # p' = linear (p - c) + c'
    forward = np.eye(3)
    forward[:2, :2] = linear
    forward[:2, 2] = np.array([new_w / 2, new_h / 2]) - linear @ [w / 2, h / 2]
    return _transform(layers, quads, forward, (new_w, new_h), fill)


def _perspective(layers: list[Image.Image], quads: np.ndarray, rng: np.random.Generator,
                 fill: tuple[int, ...], max_shift: float
                 ) -> tuple[list[Image.Image], np.ndarray]:
    """The canvas' corners moved independently by up to `max_shift` x its sides: a word seen
    from an angle."""
    w, h = layers[0].size
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)
    moved = corners + rng.uniform(-max_shift, max_shift, size=(4, 2)) * [w, h]
    moved -= moved.min(axis=0)
    size = (int(np.ceil(moved[:, 0].max())), int(np.ceil(moved[:, 1].max())))
    return _transform(layers, quads, homography(corners, moved), size, fill)


def _crop(layers: list[Image.Image], quads: np.ndarray, rng: np.random.Generator, size: int,
          clean: bool, beside: bool = False, extra: np.ndarray | None = None,
          tight: np.ndarray | None = None) -> tuple[list[Image.Image], np.ndarray]:
    """The word with margins of up to a third of the font size (wider at the sides when
    there is text beside it, so that parts of it show), plus `extra` x the font size; or
    with `tight` x the font size instead, the boxes then clipped to the crop."""
    points = quads.reshape(-1, 2)
    margins = (np.full(4, 0.15) if clean else rng.uniform(0.02, 0.35, size=4)) * size
    if beside:
        margins[[0, 2]] = rng.uniform(0.3, 0.8, size=2) * size
    if extra is not None:
        margins = margins + extra * size
    if tight is not None:  # the margins above are still drawn: later draws stay the same
        margins = np.asarray(tight, np.float64) * size
    width, height = layers[0].size
    left = max(int(np.floor(points[:, 0].min() - margins[0])), 0)
    top = max(int(np.floor(points[:, 1].min() - margins[1])), 0)
    right = min(int(np.ceil(points[:, 0].max() + margins[2])), width)
    bottom = min(int(np.ceil(points[:, 1].max() + margins[3])), height)
    points = points - [left, top]
    if tight is not None:
        points = np.clip(points, 0, [right - left, bottom - top])
    return [layer.crop((left, top, right, bottom)) for layer in layers], points.reshape(-1, 8)


def _occlude(image: Image.Image, quads: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A bar or a blot over a small part of the word, in a random colour."""
    points = quads.reshape(-1, 2)
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    colour = tuple(int(v) for v in rng.integers(0, 256, size=3))
    out = image.copy()
    draw = ImageDraw.Draw(out)
    if rng.random() < 0.5:  # a thin bar across the word
        y = float(rng.uniform(y0, y1))
        draw.line([(x0 - 5, y), (x1 + 5, y + rng.uniform(-3, 3))], fill=colour,
                  width=max(1, round((y1 - y0) * rng.uniform(0.03, 0.08))))
    else:  # a blot at most a fifth of the word's width
        r = (x1 - x0) * rng.uniform(0.03, 0.1)
        cx, cy = rng.uniform(x0, x1), rng.uniform(y0, y1)
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
    return out

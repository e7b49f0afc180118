"""Synthetic words: boxes cover each character's ink; same seed, same records."""

import io
import os

import numpy as np
import pytest
from PIL import Image, ImageDraw

from pipelines import camera, synth, word_render
from pipelines.fonts import (BUILTIN_FONT, BUNDLED_FACES, FONT_PACKAGES, bundled_font_folder,
                             default_fonts, load_font, package_fonts)


def _records(n, seed=3, workers=1, **kw):
    config = synth.SynthConfig(num_samples=n, seed=seed, num_workers=workers, **kw)
    return list(synth.render_samples(config))


def _ink_mask(image: np.ndarray) -> np.ndarray:
    """Pixels far from the background colour (the median of the border)."""
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    background = np.median(border, axis=0)
    return np.abs(image.astype(np.float32) - background).sum(-1) > 120


def _quad_mask(quad, size, grow=1.0):
    mask = Image.new("L", size, 0)
    pts = quad.reshape(4, 2)
    centre = pts.mean(0)
    pts = centre + (pts - centre) * 1.0 + np.sign(pts - centre) * grow
    ImageDraw.Draw(mask).polygon([tuple(p) for p in pts], fill=1)
    return np.asarray(mask, bool)


@pytest.mark.parametrize("clean", [True, False])
def test_boxes_cover_the_ink_of_each_character(clean):
    inside_fracs, per_char_ink = [], []
    # every glyph read and boxed: unread symbols' ink lies outside the boxes (next test)
    for rec in _records(30, clean=clean, blur_probability=0.0, noise_probability=0.0,
                        stroke_probability=0.5, max_stretch=0.3, style="plain",
                        unread_symbols=False):
        image = np.asarray(Image.open(io.BytesIO(rec.image)).convert("RGB"))
        ink = _ink_mask(image)
        masks = [_quad_mask(q, (rec.width, rec.height)) for q in rec.char_boxes]
        union = np.any(masks, axis=0)
        inside_fracs.append(ink[union].sum() / max(ink.sum(), 1))
        per_char_ink += [ink[m].sum() > 0 for m in masks]
        assert len(rec.char_boxes) == len(rec.text)
    assert np.median(inside_fracs) > 0.97, inside_fracs
    assert np.min(inside_fracs) > 0.85, inside_fracs
    assert np.mean(per_char_ink) > 0.97  # nearly every box holds ink (a '.' may blur away)


def test_photo_effects_keep_every_box_on_its_own_glyph():
    """Every effect at once (photo or texture backgrounds, shadow, border, curve, outlined,
    dotted or embossed letters, letters set apart or crowded, perspective, neighbouring text,
    occlusion, low resolution, a loose or tight crop, motion blur, glare, a poor capture): the
    word's own ink, moved through the same transforms, lies in its characters' boxes, and each
    box holds its glyph's ink."""
    from pipelines.synth_scene import SceneEffects
    everything = SceneEffects(photo_background=0.5, texture_background=0.5, shadow=1.0,
                              border=1.0, curve=1.0, perspective=1.0, neighbours=1.0,
                              occlusion=1.0, low_resolution=1.0, motion_blur=0.5,
                              glare=0.5)
    fonts = default_fonts()
    inside_fracs, per_char_ink = [], []
    for i in range(24):
        rng = np.random.default_rng([11, i])
        text = synth.random_text(rng, list("abcdefghijkXYZ0123456789"), 2, 9)
        font = load_font(fonts[i % len(fonts)], int(rng.integers(20, 45)))
        loose = rng.uniform(0.15, 0.8, size=4) if i % 3 == 0 else None
        tight = np.array([-0.04, -0.1, 0.0, -0.06]) if i % 3 == 1 else None  # cut into glyphs
        variant = word_render.WordVariant(
            extra_margins=loose, tight_margins=tight,
            outline=word_render.Outline(1 + i % 4, 0.2) if i % 4 < 2 else None,
            letter_spacing=(-0.15, 0.5, 1.0, None)[i % 4],
            dot_pitch=3 + i % 3 if i % 4 == 2 else None, relief=1 + i % 3 if i % 4 == 3 else None)
        word = word_render.render_word(text, font, rng, stroke_probability=0.3, max_stretch=0.3,
                                       effects=everything, variant=variant)
        word = camera.shake_and_glare(word, rng, everything, font.size)
        if i % 2:  # and half of them captured poorly: faded, saved small
            word = camera.poor_capture(word, rng)
            assert word.image.height <= 32
        assert word.image.size == word.ink.shape[::-1] and len(word.quads) == len(text)
        ink = word.ink > 128
        masks = [_quad_mask(q, word.image.size) for q in word.quads]
        inside_fracs.append(ink[np.any(masks, axis=0)].sum() / max(ink.sum(), 1))
        per_char_ink += [ink[m].sum() > 0 for m in masks]
    assert np.min(inside_fracs) > 0.97, inside_fracs
    assert np.mean(per_char_ink) > 0.97


def _changed_by(effect: str, monkeypatch, n: int = 80) -> list:
    """(with, without) record pairs of the photo style's first n words that the effect
    changes; every other word must come out the same without it, text and image."""
    import dataclasses
    from pipelines.synth_scene import PHOTO
    with_effect = _records(n, style="photo")
    monkeypatch.setitem(synth.STYLES, "photo", dataclasses.replace(PHOTO, **{effect: 0.0}))
    without = _records(n, style="photo")
    assert [r.text for r in with_effect] == [r.text for r in without]
    return [(a, b) for a, b in zip(with_effect, without) if a.image != b.image]


def test_photo_style_captures_some_words_poorly_without_changing_the_others(monkeypatch):
    """About a quarter of photo-style words are saved faded, small and hard-compressed; the
    effect draws from its own stream, so every other word of a seed stays as it was."""
    changed = _changed_by("poor_capture", monkeypatch)
    assert 0.1 < len(changed) / 80 < 0.45
    for rec, _ in changed:
        assert rec.height <= 32 and len(rec.char_boxes) == len(rec.text)
        assert np.asarray(rec.char_boxes)[:, 1::2].max() <= rec.height + 1


def _relative_margins(rec) -> tuple[float, float]:
    """(width, height) of the image beyond the boxes' bounding box, over the box height."""
    points = np.asarray(rec.char_boxes).reshape(-1, 2)
    box_height = points[:, 1].max() - points[:, 1].min()
    return ((rec.width - np.ptp(points[:, 0])) / box_height,
            (rec.height - box_height) / box_height)


def test_photo_style_crops_some_words_loosely_without_changing_the_others(monkeypatch):
    """About 30% of photo-style words are cropped with wider margins on every side; the
    effect draws from its own stream, so every other word of a seed stays as it was."""
    changed = _changed_by("loose_crop", monkeypatch)
    assert 0.15 < len(changed) / 80 < 0.45
    wider = [np.greater(_relative_margins(a), _relative_margins(b)).all()
             for a, b in changed if len(a.char_boxes)]
    assert np.mean(wider) > 0.9, wider
    for rec, _ in changed:
        points = np.asarray(rec.char_boxes).reshape(-1, 2)
        assert points.min() >= -1 and points[:, 0].max() <= rec.width + 1
        assert points[:, 1].max() <= rec.height + 1


def test_photo_style_crops_some_words_tightly_without_changing_the_others(monkeypatch):
    """About a sixth of photo-style words (a quarter of those not cropped loosely) are cut
    at their glyphs or into them, as real crops are; their boxes are clipped to the image,
    and every other word of a seed stays as it was."""
    changed = _changed_by("tight_crop", monkeypatch, n=120)
    assert 0.08 < len(changed) / 120 < 0.3, len(changed)
    narrower = [np.less(_relative_margins(a), _relative_margins(b)).all()
                for a, b in changed if len(a.char_boxes)]
    assert np.mean(narrower) > 0.9, narrower
    cut = 0
    for rec, _ in changed:
        points = np.asarray(rec.char_boxes).reshape(-1, 2)
        assert len(rec.char_boxes) == len(rec.text)
        assert points.min() >= 0 and points[:, 0].max() <= rec.width
        assert points[:, 1].max() <= rec.height
        cut += points[:, 1].min() == 0 or points[:, 1].max() == rec.height
    assert cut >= len(changed) // 3, cut  # glyphs cut at the top or bottom


def _top_edge_degrees(rec) -> float:
    """The angle of the longest character box's top edge, clockwise on screen."""
    quads = np.asarray(rec.char_boxes).reshape(-1, 4, 2)
    edges = quads[:, 1] - quads[:, 0]
    dx, dy = edges[np.argmax(np.hypot(edges[:, 0], edges[:, 1]))]
    return float(np.degrees(np.arctan2(dy, dx)))


def test_photo_style_tilts_some_words_without_changing_the_others(monkeypatch):
    """About a seventh of photo-style words are turned by 5-15 degrees instead of at most
    4, their boxes turned with them and inside the upright crop; every other word of a seed
    stays as it was."""
    changed = _changed_by("tilt", monkeypatch, n=120)
    assert 0.06 < len(changed) / 120 < 0.3, len(changed)
    tilted = [abs(_top_edge_degrees(a)) for a, _ in changed if len(a.char_boxes)]
    usual = [abs(_top_edge_degrees(b)) for _, b in changed if len(b.char_boxes)]
    assert np.mean([4.5 < t < 17 for t in tilted]) > 0.8, tilted
    assert np.mean([u < 6 for u in usual]) > 0.8, usual
    for rec, _ in changed:
        points = np.asarray(rec.char_boxes).reshape(-1, 2)
        assert points.min() >= -1 and points[:, 0].max() <= rec.width + 1
        assert points[:, 1].max() <= rec.height + 1


def _yiq(colour) -> np.ndarray:
    """Luma and chroma (I, Q) of RGB colours, from the NTSC definition."""
    return np.asarray(colour, np.float64) @ np.array(
        [[0.299, 0.596, 0.211], [0.587, -0.274, -0.523], [0.114, -0.322, 0.312]])


@pytest.mark.parametrize("background,luma,turn,saturation", [
    ((200, 30, 30), 40.0, 0.0, 1.0), ((255, 200, 0), 30.0, 0.0, 0.0),
    ((20, 40, 200), -50.0, 1.2, 0.8), ((0, 0, 0), 75.0, 0.5, 1.0),
    ((128, 128, 128), -40.0, 1.5, 1.0), ((250, 240, 60), 60.0, 0.4, 0.6)])
def test_a_colour_told_by_hue_keeps_the_luma_difference_and_turns_the_hue(
        background, luma, turn, saturation):
    """Against the YIQ definition: the colour's luma is the background's plus the difference
    (minus it where plus leaves 0-255), its chroma points opposite the background's turned
    by `turn` (any way for a grey), as far as RGB allows at full saturation (a channel at 0
    or 255), and it lies MIN_HUE_DISTANCE or more from the background."""
    from pipelines.synth_scene import MIN_HUE_DISTANCE, hue_contrasting_colour
    colour = hue_contrasting_colour(np.array(background, float), luma, turn, saturation)
    assert colour is not None
    (y, i, q), (y0, i0, q0) = _yiq(colour), _yiq(background)
    expected = y0 + luma if 0 <= y0 + luma <= 255 else y0 - luma
    assert abs(y - expected) < 1.5, (y, expected)
    assert np.linalg.norm(np.subtract(colour, background)) >= MIN_HUE_DISTANCE
    if saturation == 0:
        assert colour[0] == colour[1] == colour[2]
        return
    if np.hypot(i0, q0) > 10:
        angle = np.arctan2(q, i) - (np.arctan2(q0, i0) + np.pi + turn)
        assert abs(np.angle(np.exp(1j * angle))) < 0.05  # the same hue, within rounding
    if saturation == 1:
        assert min(colour) == 0 or max(colour) == 255


def test_a_colour_that_hue_cannot_tell_apart_is_refused():
    """A grey text a little darker than a grey background, or white's neighbourhood, where
    RGB leaves no room for chroma, is no colour told by its hue: None (synth then keeps
    the usual contrast)."""
    from pipelines.synth_scene import hue_contrasting_colour
    assert hue_contrasting_colour(np.array([128.0, 128, 128]), -40, 0.3, 0.0) is None
    assert hue_contrasting_colour(np.array([255.0, 255, 255]), 30, 0.0, 1.0) is None


def test_a_word_told_by_hue_is_drawn_in_that_colour_over_its_flat_background():
    """Without warps and noise (clean), the glyphs' full-ink pixels are the colour that
    hue_contrasting_colour gives for the flat background under them; without the variant
    the text keeps the usual luma contrast."""
    from pipelines.synth_scene import LUMA, MIN_CONTRAST, hue_contrasting_colour
    font = load_font(default_fonts()[0], 32)
    variant = word_render.WordVariant(hue_contrast=(-45.0, 0.3, 0.9))
    checked = 0
    for seed in range(12):
        word = word_render.render_word("Hotel", font, np.random.default_rng(seed), clean=True,
                                       variant=variant)
        image = np.asarray(word.image, np.float64)
        background = image[word.ink == 0]
        if np.ptp(background, axis=0).max() > 0:
            continue  # a gradient or a texture: the colour is the mean under the glyphs
        expected = hue_contrasting_colour(background[0], *variant.hue_contrast)
        if expected is None:
            continue
        np.testing.assert_array_equal(image[word.ink == 255], np.broadcast_to(
            expected, image[word.ink == 255].shape))
        usual = word_render.render_word("Hotel", font, np.random.default_rng(seed), clean=True)
        usual_text = np.asarray(usual.image, np.float64)[usual.ink == 255][0]
        assert abs((usual_text - background[0]) @ LUMA) > MIN_CONTRAST
        checked += 1
    assert checked >= 3, checked


def test_photo_style_tells_some_words_by_hue_without_changing_the_others(monkeypatch):
    """About a tenth of photo-style words (0.3 of those on a flat background) are told
    from it by hue; only their pixels change, but for those that would have been captured
    poorly (saved small), which are not (faded, they would keep nothing to read); every
    other word stays as it was."""
    changed = _changed_by("hue_contrast", monkeypatch, n=160)
    assert 0.03 < len(changed) / 160 < 0.25, len(changed)
    for rec, usual in changed:
        assert rec.text == usual.text
        if (rec.width, rec.height) != (usual.width, usual.height):
            assert usual.height <= 32 and usual.height <= rec.height
            continue
        np.testing.assert_array_equal(rec.char_boxes, usual.char_boxes)


def test_words_on_photographs_are_drawn_as_without_the_hue_contrast(monkeypatch):
    """The hue contrast is for flat backgrounds: where every background is a photograph,
    drawing it for every word changes no record (not even which are captured poorly)."""
    import dataclasses
    from pipelines.synth_scene import PHOTO
    on_photos = dataclasses.replace(PHOTO, photo_background=1.0, hue_contrast=1.0)
    monkeypatch.setitem(synth.STYLES, "photo", on_photos)
    with_variant = _records(60, style="photo")
    monkeypatch.setitem(synth.STYLES, "photo", dataclasses.replace(on_photos, hue_contrast=0.0))
    without = _records(60, style="photo")
    assert [r.image for r in with_variant] == [r.image for r in without]


def _box_filter(mask: np.ndarray, size: int, reduce) -> np.ndarray:
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(mask, size // 2), (size, size))
    return reduce(windows, axis=(-2, -1))


@pytest.mark.parametrize("width,inside", [(1, 0.0), (2, 0.3), (3, 0.0), (4, 0.25)])
def test_outlined_letters_are_a_ring_on_the_glyph_edge_over_a_tinted_inside(width, inside):
    """Against numpy: the letters' extent is the glyph grown by half the ring (rounded up),
    the opacity is the ring (grown minus shrunk by the other half) over the inside's tint."""
    glyph = np.zeros((24, 30), np.float32)
    glyph[6:18, 5:12] = 1.0  # a bar and an L, well inside the canvas
    glyph[6:18, 16:19] = 1.0
    glyph[15:18, 19:25] = 1.0
    ink = Image.fromarray((glyph * 255).astype(np.uint8))
    extent, opacity = word_render.lettering(ink, word_render.Outline(width, inside))
    grow, shrink = (width + 1) // 2, width // 2
    outer = _box_filter(glyph, 2 * grow + 1, np.max)
    inner = _box_filter(glyph, 2 * shrink + 1, np.min) if shrink else glyph
    np.testing.assert_allclose(extent, outer)
    np.testing.assert_allclose(opacity, np.maximum(outer - inner, inner * inside), atol=1e-6)
    assert opacity[12, 8] == pytest.approx(inside)  # the bar's middle
    # the L's stroke is 3 pixels wide: a ring of 4 leaves no inside, so it stays solid
    assert opacity[12, 17] == pytest.approx(inside if width < 4 else 1.0)
    assert opacity[6 - grow, 8] == 1.0 and opacity[6 - grow - 1, 8] == 0.0  # its outer edge
    solid_extent, solid = word_render.lettering(ink, None)
    np.testing.assert_array_equal(solid, glyph)
    np.testing.assert_array_equal(solid_extent, glyph)


def test_dotted_letters_show_the_glyph_through_a_grid_of_round_dots():
    glyph = np.zeros((24, 30), np.float32)
    glyph[4:20, 3:27] = 1.0
    ink = Image.fromarray((glyph * 255).astype(np.uint8))
    extent, opacity = word_render.lettering(ink, None, dot_pitch=4)
    rows, cols = np.mgrid[:24, :30]
    dots = ((rows % 4 - 1.5) ** 2 + (cols % 4 - 1.5) ** 2 <= (0.42 * 4) ** 2)
    np.testing.assert_array_equal(extent, glyph)
    np.testing.assert_array_equal(opacity, glyph * dots)
    assert 0.45 < opacity[glyph > 0].mean() < 0.8  # a dot per cell: part of the glyph is lit


def test_embossed_letters_are_drawn_by_lit_and_shaded_edges_of_the_surface():
    """Against a flat grey surface: the letter's inside a shade darker, its edges facing down
    and right lit, those facing up and left shaded, the surface elsewhere untouched."""
    base = np.full((20, 20, 3), 100.0, np.float32)
    letters = np.zeros((20, 20), np.float32)
    letters[5:15, 5:15] = 1.0
    image = word_render.relief(base, letters, depth=2)
    np.testing.assert_allclose(image[10, 10], 85.0)  # inside: 15% darker
    np.testing.assert_allclose(image[2, 2], 100.0)  # outside
    np.testing.assert_allclose(image[17, 17], 100.0)
    np.testing.assert_allclose(image[14, 10], 85.0 * 1.6 + 60)  # bottom edge: lit
    np.testing.assert_allclose(image[10, 13], 85.0 * 1.6 + 60)  # right edge: lit
    np.testing.assert_allclose(image[5, 10], 85.0 * 0.35)  # top edge: shaded
    np.testing.assert_allclose(image[10, 6], 85.0 * 0.35)  # left edge: shaded


def test_motion_blur_averages_copies_along_its_direction():
    """Against numpy: horizontal and vertical smears of three pixels are the mean of each
    pixel and its two neighbours along the line, the image's edge repeated."""
    image = np.random.default_rng(0).uniform(0, 255, size=(6, 7, 3)).astype(np.float32)
    padded = np.pad(image, ((1, 1), (1, 1), (0, 0)), mode="edge")
    across = (padded[1:-1, :-2] + padded[1:-1, 1:-1] + padded[1:-1, 2:]) / 3
    down = (padded[:-2, 1:-1] + padded[1:-1, 1:-1] + padded[2:, 1:-1]) / 3
    np.testing.assert_allclose(camera.motion_blur(image, 3, 0.0), across, rtol=1e-5)
    np.testing.assert_allclose(camera.motion_blur(image, 3, 90.0), down, rtol=1e-5)
    diagonal = camera.motion_blur(image, 3, 45.0)
    np.testing.assert_allclose(diagonal[2, 3], (image[1, 2] + image[2, 3] + image[3, 4]) / 3,
                               rtol=1e-5)
    np.testing.assert_allclose(camera.motion_blur(image, 1, 30.0), image)


def test_glare_mixes_in_the_light_by_its_strength_falling_off_as_a_gaussian():
    image = np.full((30, 40, 3), 20.0, np.float32)
    colour = np.array([250.0, 240.0, 230.0])
    lit = camera.glare(image, centre=(10.0, 15.0), radii=(5.0, 10.0), strength=0.8,
                       colour=colour)
    np.testing.assert_allclose(lit[15, 10], 20 * 0.2 + colour * 0.8, rtol=1e-5)
    alpha = 0.8 * np.exp(-0.5 * ((15 - 10) / 5.0) ** 2)  # one x-radius to the right
    np.testing.assert_allclose(lit[15, 15], 20 * (1 - alpha) + colour * alpha, rtol=1e-5)
    np.testing.assert_allclose(lit[15, 39], 20.0, atol=0.01)  # far away: untouched


@pytest.mark.parametrize("effect", ["outline", "dot_matrix", "relief", "motion_blur", "glare"])
def test_photo_style_effects_on_pixels_change_a_share_of_words_and_nothing_else(monkeypatch,
                                                                               effect):
    """Outlined, dotted, embossed, smeared and glared words, each at about its configured
    share (dots and embossing of the words not outlined): only their pixels change (size,
    boxes and text stay); each effect draws from a stream of its own, so every other word
    of a seed stays as it was."""
    from pipelines.synth_scene import PHOTO
    changed = _changed_by(effect, monkeypatch, n=200)
    share = getattr(PHOTO, effect)
    assert share / 3 < len(changed) / 200 < share * 2
    for rec, plain in changed:
        assert (rec.width, rec.height, rec.text) == (plain.width, plain.height, plain.text)
        np.testing.assert_array_equal(rec.char_boxes, plain.char_boxes)


def test_letter_spacing_moves_each_letter_by_the_given_share_of_the_font_size():
    """Without warps (clean), the gap between neighbouring letters' boxes is the advance
    plus the spacing: two spacings differ by exactly their difference x the font size."""
    font = load_font(default_fonts()[0], 30)
    starts = {}
    for spacing in (-0.15, 0.0, 0.8):
        word = word_render.render_word("Hotel42", font, np.random.default_rng(5), clean=True,
                                       variant=word_render.WordVariant(letter_spacing=spacing))
        starts[spacing] = np.diff(word.quads[:, 0])
    np.testing.assert_allclose(starts[0.8] - starts[0.0], 0.8 * 30, atol=1e-3)
    np.testing.assert_allclose(starts[-0.15] - starts[0.0], -0.15 * 30, atol=1e-3)


def test_photo_style_spaces_some_words_letters_without_changing_the_others(monkeypatch):
    """About a fifth of photo-style words have their letters set apart or (two in five of
    them) crowded: their boxes move; the effect draws from its own stream, so every other
    word stays as it was."""
    changed = _changed_by("letter_spacing", monkeypatch, n=120)
    assert 0.1 < len(changed) / 120 < 0.35
    for rec, plain in changed:
        assert rec.text == plain.text
        if len(rec.char_boxes) > 1:
            assert not np.allclose(rec.char_boxes, plain.char_boxes)
    from pipelines.synth_scene import PHOTO
    spacings = np.array([v.letter_spacing for v in (synth._variant(3, i, PHOTO, 30)
                                                   for i in range(2000))
                         if v.letter_spacing is not None])
    low, high = PHOTO.letter_spacing_range
    assert low <= spacings.min() and spacings.max() <= high
    assert abs(np.mean(spacings < 0) - PHOTO.crowded_share) < 0.08  # crowded, the rest apart


def test_photo_style_draws_photographs_from_the_installed_files():
    from pipelines import synth_scene
    assert len(synth_scene.photos()) == len(synth_scene.PHOTO_NAMES)
    rng = np.random.default_rng(0)
    background = synth_scene.photo_background(rng, (120, 40))
    assert background.shape == (40, 120, 3) and background.std() > 5  # not a flat colour
    with pytest.raises(ValueError, match="unknown synth style 'glossy'"):
        _records(1, style="glossy")


def test_same_seed_same_records_any_worker_count():
    serial = _records(12, seed=7, workers=1)
    parallel = _records(12, seed=7, workers=2)
    assert [(r.text, r.image) for r in serial] == [(r.text, r.image) for r in parallel]
    for a, b in zip(serial, parallel):
        np.testing.assert_array_equal(a.char_boxes, b.char_boxes)
    other = _records(12, seed=8)
    assert [r.text for r in other] != [r.text for r in serial]


def test_text_stays_inside_charset_and_lengths():
    from textscanner.charset import load_charset
    cs = load_charset("alnum36")
    for rec in _records(60, min_length=2, max_length=6):
        assert 2 <= len(rec.text) <= 6
        assert cs.encode(rec.text).ok


def test_charsets_with_symbols_also_get_prices_codes_addresses_dates_times():
    import re
    from textscanner.charset import load_charset
    alphabet = synth._alphabet(load_charset("printable94"))
    texts = [synth.random_text(np.random.default_rng([4, i]), alphabet, 1, 16)
             for i in range(600)]
    patterns = {"price": r"\$\d+\.\d\d", "code": r"[A-Z]{1,3}-\d{2,5}",
                "address": r"www\.[a-z]+\.(com|org|net|de|uk)", "date": r"\d\d/\d\d/\d{4}",
                "time": r"\d\d:\d\d", "percentage": r"\d{1,3}%"}
    for name, pattern in patterns.items():
        assert any(re.fullmatch(pattern, t, re.IGNORECASE) for t in texts), name
    alnum = synth._alphabet(load_charset("alnum36"))
    assert all(t.isalnum() for t in (synth.random_text(np.random.default_rng([4, i]), alnum,
                                                       1, 16) for i in range(300)))
    # with unread symbols, alphanumeric charsets get the same strings, to be drawn
    drawn = [synth.random_text(np.random.default_rng([4, i]), alnum, 1, 16,
                               unread_symbols=True) for i in range(600)]
    for name, pattern in patterns.items():
        assert any(re.fullmatch(pattern, t, re.IGNORECASE) for t in drawn), name
    assert all(set(t) <= set(alnum) | synth.DRAWN_SYMBOLS for t in drawn)


def test_unread_symbols_are_drawn_without_boxes_and_left_out_of_the_label():
    """Punctuation and the symbols of prices, dates, ... outside the charset: in the image,
    not in the text, and no box; every box still holds its own character's ink."""
    from textscanner.charset import load_charset
    alnum = set(synth._alphabet(load_charset("alnum36")))
    config = synth.SynthConfig(num_samples=200, seed=3, num_workers=1, style="plain",
                               blur_probability=0.0, noise_probability=0.0)
    synth.init_worker(config)
    with_symbols = 0
    for index in range(config.num_samples):
        rng = np.random.default_rng([config.seed, index])
        drawn = synth.random_text(rng, synth._state["alphabet"], 1, 12, synth._state["words"],
                                   True)
        record = synth.render_sample(index)
        assert record.text == "".join(c for c in drawn if c in alnum)
        assert len(record.char_boxes) == len(record.text) and record.text.isalnum()
        if set(drawn) - alnum:
            with_symbols += 1
            image = np.asarray(Image.open(io.BytesIO(record.image)).convert("RGB"))
            ink = _ink_mask(image)
            masks = [_quad_mask(q, (record.width, record.height)) for q in record.char_boxes]
            assert all(ink[m].sum() > 0 for m in masks), (drawn, record.text)
    assert 15 <= with_symbols <= 80, with_symbols  # about a fifth of the words and more
    off = synth.SynthConfig(num_samples=200, seed=3, num_workers=1, unread_symbols=False)
    synth.init_worker(off)
    assert all(set(synth.random_text(np.random.default_rng([3, i]), sorted(alnum), 1, 12,
                                     synth._state["words"], off.unread_symbols)) <= alnum
               for i in range(200))


def test_default_fonts_draw_every_character_with_a_real_glyph():
    """Every default face has a glyph of its own for each letter and digit (a missing one
    would be drawn as the font's empty box, under a label that says otherwise)."""
    import string
    from PIL import ImageFont
    fonts = default_fonts()
    packaged = package_fonts()
    assert len(fonts) == len(BUNDLED_FACES) + len(packaged) + 1 and BUILTIN_FONT in fonts
    # every listed package is installed (a dependency), each with at least one face
    assert {p.split(os.sep)[-3] for p in packaged} == set(FONT_PACKAGES)
    assert len(set(fonts)) == len(fonts)
    for path in fonts:
        if path == BUILTIN_FONT:
            continue
        font = ImageFont.truetype(path, 24)
        missing = bytes(font.getmask("\ue000"))  # a private-use code point: no glyph
        shapes = {c: bytes(font.getmask(c)) for c in string.ascii_letters + string.digits}
        assert all(shape and shape != missing for shape in shapes.values()), path
        symbols = [bytes(font.getmask(c)) for c in synth.DRAWN_SYMBOLS]
        assert all(shape and shape != missing for shape in symbols), path
        assert len(set(shapes.values())) >= 58, path  # distinct shapes (l/I may coincide)


def test_custom_font_and_missing_font(tmp_path):
    font = os.path.join(bundled_font_folder(), "cmr10.ttf")
    recs = _records(3, fonts=(font,))
    assert all(len(r.char_boxes) == len(r.text) for r in recs)
    for workers in (1, 2):
        with pytest.raises(FileNotFoundError, match="font file not found"):
            _records(1, workers=workers, fonts=(str(tmp_path / "none.ttf"),))


def test_words_come_from_a_real_corpus_of_the_chosen_language():
    english = synth.corpus_words("en")
    assert len(english) == synth.CORPUS_SIZE and {"the", "hotel", "street"} <= set(english)
    alphabet = synth._alphabet(synth.load_charset("alnum36"))
    texts = [synth.random_text(np.random.default_rng([5, i]), alphabet, 1, 12, english)
             for i in range(400)]
    from_corpus = {t.lower() for t in texts} & (set(english) - set(synth._WORDS))
    assert len(from_corpus) > 60, sorted(from_corpus)  # beyond the built-in list
    german = set(synth.corpus_words("de"))
    assert {"und", "nicht"} <= german
    texts = [r.text.lower() for r in _records(40, language="de", charset="alnum36")]
    assert sum(t in german for t in texts) >= 6 and not any(t in ("the", "and") for t in texts)
    with pytest.raises(ValueError, match="no word list for language 'xx'"):
        _records(1, language="xx")


def _edited_face(source: str, target, drop: str = "", capitals_for_lower: bool = False) -> str:
    """A copy of the face at `source` whose character map lacks `drop`'s characters, or maps
    each lower-case letter to its capital's glyph (an all-capitals face)."""
    from fontTools.ttLib import TTFont
    face = TTFont(source)
    for table in face["cmap"].tables:
        for char in drop:
            table.cmap.pop(ord(char), None)
        if capitals_for_lower:
            for char in "abcdefghijklmnopqrstuvwxyz":
                if ord(char.upper()) in table.cmap:
                    table.cmap[ord(char)] = table.cmap[ord(char.upper())]
    face.save(str(target))
    return str(target)


def test_font_folders_keep_the_faces_that_draw_and_tell_apart_what_synth_draws(tmp_path, caplog):
    """--font=FOLDER: every face under it that has a real glyph for each character synth
    draws, and distinct shapes for the charset's classes; the others are left out, named."""
    import logging
    import shutil
    mpl = bundled_font_folder()
    folder = tmp_path / "fonts"
    (folder / "sub").mkdir(parents=True)
    good = [shutil.copy(os.path.join(mpl, "cmr10.ttf"), folder / "a-cmr10.ttf"),
            shutil.copy(os.path.join(mpl, "DejaVuSans.ttf"), folder / "sub" / "DejaVuSans.ttf")]
    no_letters = shutil.copy(os.path.join(mpl, "STIXSizOneSymReg.ttf"), folder / "b-sym.ttf")
    no_q = _edited_face(os.path.join(mpl, "DejaVuSerif.ttf"), folder / "c-no-q.ttf", drop="qQ")
    no_dollar = _edited_face(os.path.join(mpl, "DejaVuSerif.ttf"), folder / "d-no-dollar.ttf",
                             drop="$")
    capitals = _edited_face(os.path.join(mpl, "DejaVuSans-Bold.ttf"), folder / "e-caps.ttf",
                            capitals_for_lower=True)
    last_resort = shutil.copy(os.path.join(mpl, "LastResortHE-Regular.ttf"), folder / "f-lr.ttf")
    (folder / "g-broken.ttf").write_bytes(b"not a font")
    (folder / "notes.txt").write_text("not a font file either, and not looked at")

    def chosen(**kw):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="pipelines.synth"):
            kept = synth.choose_fonts(synth.SynthConfig(fonts=(str(folder),), **kw))
        return kept, caplog.text

    kept, log_text = chosen()  # alnum36 (case folded) with unread symbols
    assert kept == sorted(map(str, good + [capitals])), kept  # capitals read as lower case
    assert f"{no_q} (no glyph for 2 character(s): 'Qq')" in log_text
    assert f"{no_dollar} (no glyph for 1 character(s): '$')" in log_text
    assert f"{no_letters} (no glyph for" in log_text
    assert f"{last_resort} (draws 36 of 36 classes like another" in log_text
    assert "g-broken.ttf (cannot be opened" in log_text and "notes.txt" not in log_text

    kept, log_text = chosen(charset="alnum62", unread_symbols=False)
    assert kept == sorted(map(str, good + [no_dollar])), kept  # `$` is not drawn now
    assert f"{capitals} (draws 52 of 62 classes like another" in log_text

    for workers in (1, 2):  # the workers draw with the chosen faces only
        records = _records(12, workers=workers, fonts=(str(folder),))
        assert all(len(r.char_boxes) == len(r.text) for r in records)
    with pytest.raises(ValueError, match=r"no font of --font=.*b-sym.ttf \(no glyph for"):
        synth.choose_fonts(synth.SynthConfig(fonts=(str(no_letters),)))


def test_system_and_default_fonts_expand_in_order_each_face_once(tmp_path, monkeypatch):
    import shutil
    import subprocess
    from pipelines.fonts import expand_font_specs, system_fonts
    assert expand_font_specs([]) == expand_font_specs(["default"]) == default_fonts()
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        pytest.skip("fontconfig is not installed")
    listed = subprocess.run([fc_list, ":", "file"], capture_output=True, text=True).stdout
    files = sorted({line.split(":")[0] for line in listed.splitlines()
                    if line.split(":")[0].lower().endswith((".ttf", ".otf", ".ttc", ".otc"))})
    assert system_fonts() == files and files
    both = expand_font_specs(["system", "default", files[0]])
    assert both == files + default_fonts()
    assert synth.choose_fonts(synth.SynthConfig(fonts=("system",)))  # draws with them
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine without fontconfig
    with pytest.raises(FileNotFoundError, match="fc-list, which is not installed"):
        system_fonts()

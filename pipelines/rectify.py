"""Cutting a word out of a scene: the quadrilateral around it warped to an upright rectangle,
and its characters' quadrilaterals carried into that crop by the same transform.

TensorFlow-free, like the rest of validation: it runs in converter worker processes.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from pipelines.validation import (MIN_INSIDE_FRACTION, RecordError, clip_polygon,
                                  decode_image, polygon_area)

MIN_SIDE = 2  # pixels: a crop narrower or lower than this holds no readable character
CROP_JPEG_QUALITY = 95  # scenes are photographs: JPEG keeps crops small at little loss


def homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 3x3 projective transform that maps the four points `src` [4, 2] onto `dst`."""
    rows, values = [], []
    for (x, y), (u, v) in zip(src, dst):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        values += [u, v]
    h = np.linalg.solve(np.asarray(rows, np.float64), np.asarray(values, np.float64))
    return np.append(h, 1.0).reshape(3, 3)


def apply_homography(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """[k, 2] points through a 3x3 projective transform."""
    homogeneous = np.concatenate([points, np.ones((len(points), 1))], axis=1) @ matrix.T
    return homogeneous[:, :2] / homogeneous[:, 2:]


def crop_size(quad: np.ndarray) -> tuple[int, int]:
    """(width, height) of the upright crop of a quadrilateral [4, 2] (top-left, top-right,
    bottom-right, bottom-left): the mean lengths of its opposite sides."""
    def side(a: int, b: int) -> float:
        return float(np.hypot(*(quad[a] - quad[b])))

    width = 0.5 * (side(0, 1) + side(3, 2))
    height = 0.5 * (side(0, 3) + side(1, 2))
    return int(round(width)), int(round(height))


def is_convex_clockwise(quad: np.ndarray) -> bool:
    """Whether the quadrilateral [4, 2] turns the same way at every corner: clockwise on
    screen (image coordinates, y down), convex, its sides not crossing."""
    edges = np.roll(quad, -1, axis=0) - quad
    turns = edges[:, 0] * np.roll(edges, -1, axis=0)[:, 1] \
        - edges[:, 1] * np.roll(edges, -1, axis=0)[:, 0]
    return bool(np.all(turns > 0))


def check_word_quad(quad: np.ndarray, width: int, height: int) -> None:
    """Raises RecordError unless `quad` [4, 2] is a convex clockwise quadrilateral (in image
    coordinates, y down) of usable size lying mostly inside a `width x height` image."""
    if not np.all(np.isfinite(quad)):
        raise RecordError("bad_boxes", f"word box {quad.reshape(-1).tolist()} has non-finite "
                                       "values")
    crop_w, crop_h = crop_size(quad)
    if not is_convex_clockwise(quad) or min(crop_w, crop_h) < MIN_SIDE:
        raise RecordError("degenerate_box", f"word box {np.round(quad, 1).tolist()} is not a "
                                            "convex clockwise quadrilateral of at least "
                                            f"{MIN_SIDE}x{MIN_SIDE} pixels")
    inside = polygon_area(clip_polygon(quad, width, height)) / polygon_area(quad)
    if inside < MIN_INSIDE_FRACTION:
        raise RecordError("box_outside", f"word box {np.round(quad, 1).tolist()} lies "
                                         f"{100 * (1 - inside):.0f}% outside the "
                                         f"{width}x{height} image")


def clip_upright_rectangle(quad: np.ndarray, width: int, height: int) -> np.ndarray:
    """An axis-aligned rectangle [4, 2] clipped to a `width x height` image, any other
    quadrilateral unchanged: a box drawn a few pixels past the photograph's edge (Street View
    Text has such boxes) would otherwise bring a band of black into the crop."""
    xs, ys = quad[:, 0], quad[:, 1]
    if not (xs[0] == xs[3] and xs[1] == xs[2] and ys[0] == ys[1] and ys[2] == ys[3]):
        return quad
    return np.stack([np.clip(xs, 0, width), np.clip(ys, 0, height)], axis=1)


def rectify(image: Image.Image, word_quad: np.ndarray, char_quads: np.ndarray | None
            ) -> tuple[Image.Image, np.ndarray | None]:
    """The word's upright crop, and its characters' quadrilaterals [n, 8] in crop pixels."""
    quad = np.asarray(word_quad, np.float64).reshape(4, 2)
    check_word_quad(quad, *image.size)
    quad = clip_upright_rectangle(quad, *image.size)
    check_word_quad(quad, *image.size)  # what is left inside must still hold a character
    width, height = crop_size(quad)
    rectangle = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float64)
    crop_to_scene = homography(rectangle, quad)
    # Pillow asks for the map from output (crop) pixels to input (scene) pixels.
    crop = image.transform((width, height), Image.Transform.PERSPECTIVE,
                           tuple(crop_to_scene.reshape(-1)[:8]), Image.Resampling.BILINEAR)
    if char_quads is None:
        return crop, None
    points = np.asarray(char_quads, np.float64).reshape(-1, 2)
    moved = apply_homography(np.linalg.inv(crop_to_scene), points)
    return crop, moved.reshape(-1, 8)


class SceneCache:
    """The last scene decoded, so that the words of one scene decode it once (a scene's
    words arrive in a row, and a worker gets them in one chunk)."""

    def __init__(self):
        self._key: tuple[str, int] | None = None
        self._image: Image.Image | None = None

    def decode(self, path: str, data: bytes) -> Image.Image:
        key = (path, len(data))
        if key != self._key:
            self._image = decode_image(data).convert("RGB")  # raises before the key moves
            self._key = key
        return self._image


_scenes = SceneCache()


def cut_out_word(data: bytes, path: str, word_quad, char_quads
                 ) -> tuple[bytes, np.ndarray | None]:
    """The encoded crop of the word at `word_quad` in the scene `data` (read from `path`),
    and its character quadrilaterals in the crop; raises RecordError with the reason."""
    crop, moved = rectify(_scenes.decode(path, data), word_quad, char_quads)
    out = io.BytesIO()
    crop.save(out, format="JPEG", quality=CROP_JPEG_QUALITY)
    return out.getvalue(), moved

"""Checks one labelled image and turns it into a WordRecord, or says precisely why not.

TensorFlow-free on purpose: converter worker processes import only Pillow and numpy.
"""

from __future__ import annotations

import dataclasses
import io
import unicodedata
from typing import Any, NamedTuple, Sequence

import numpy as np
from PIL import Image, UnidentifiedImageError

from pipelines.orientation import upright
from pipelines.records import WordRecord
from pipelines.stored_size import shrink_factor, shrunk
from textscanner import storage
from textscanner.charset import Charset, normalize_text
from textscanner.config import NUM_SLOTS

# A box is rejected when less than this fraction of its area lies inside the image,
# and clipped to the image otherwise.
MIN_INSIDE_FRACTION = 0.5
MIN_BOX_AREA = 0.25  # pixels^2
# Formats TensorFlow decodes whose original bytes we keep unchanged (in RGB or grey).
_KEEP_FORMATS = {"JPEG", "PNG", "BMP"}


class LabelFileError(ValueError):
    """A label file that is not of the format asked for: nothing in it can be converted."""


class RecordError(Exception):
    """A sample that cannot be used; `reason` is a short machine-readable code."""

    def __init__(self, reason: str, message: str):
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message

    def __reduce__(self):  # the default would call __init__ with one argument
        return RecordError, (self.reason, self.message)


@dataclasses.dataclass
class RawItem:
    """A sample as read from a label source, before validation."""

    source: str
    text: str | None = None
    image_path: str | None = None
    image_bytes: bytes | None = None
    char_boxes: Any = None
    # A word in a scene (SynthText): its quadrilateral [8], cut out and made upright before
    # validation; char_boxes are then in scene pixels too.
    word_quad: Any = None
    error: RecordError | None = None  # set when the label source itself is broken


def read_image(item: RawItem) -> bytes:
    if item.image_bytes is not None:
        return item.image_bytes
    try:
        return storage.read_bytes(item.image_path)
    except FileNotFoundError:
        # A label file written on Windows names `images\a.png`; a real file name on Linux
        # holds a backslash so rarely that the path with slashes is the one meant.
        slashed = item.image_path.replace("\\", "/")
        if slashed != item.image_path and storage.exists(slashed):
            return storage.read_bytes(slashed)
        tried = f" (nor {slashed})" if slashed != item.image_path else ""
        raise RecordError("missing_image", f"no such file {item.image_path}{tried}") from None
    except OSError as e:
        raise RecordError("missing_image", f"cannot read {item.image_path}: {e}") from None


def _is_16bit_png(data: bytes) -> bool:
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 24 and data[24] == 16


def _to_rgb8(image: Image.Image) -> Image.Image:
    """Any Pillow image to 8-bit RGB; transparency is composited over white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.uint32)
        scale = 257.0 if array.max(initial=0) > 255 else 1.0
        return Image.fromarray(np.clip(array / scale, 0, 255).astype(np.uint8)).convert("RGB")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def decode_image(data: bytes) -> Image.Image:
    """The decoded image; raises RecordError("corrupt_image") with what is wrong."""
    if not data:
        raise RecordError("corrupt_image", "empty file (0 bytes)")
    try:
        image = Image.open(io.BytesIO(data))
        image.load()  # raises on truncated data
    except UnidentifiedImageError:
        raise RecordError("corrupt_image", f"not an image in a format Pillow reads "
                                           f"({len(data)} bytes starting {data[:8]!r})") from None
    except Exception as e:  # Pillow raises many types here
        raise RecordError("corrupt_image", f"cannot decode image: {e}") from None
    return image


class StoredImage(NamedTuple):
    """An image as `convert` stores it, and the size of the image it was read from."""

    data: bytes  # encoded, and TensorFlow decodes it to RGB
    height: int
    width: int
    turned: bool  # turned upright as its EXIF orientation says (pipelines/orientation.py)
    source_height: int
    source_width: int


def validate_image(data: bytes, max_height: int = 0) -> StoredImage:
    """The image to store: the original bytes where TensorFlow reads them as they are,
    re-encoded otherwise; shrunk (`pipelines/stored_size.py`) when `max_height` > 0 and it
    is larger than that allows."""
    decoded = decode_image(data)
    image, turned = upright(decoded)
    width, height = image.size
    if width == 0 or height == 0:
        raise RecordError("empty_image", f"image has size {width}x{height}")
    factor = shrink_factor(height, width, max_height)
    if factor < 1.0:
        small, small_height, small_width = shrunk(
            _to_rgb8(image) if image.mode != "L" else image, factor,
            jpeg=decoded.format == "JPEG")
        return StoredImage(small, small_height, small_width, turned, height, width)
    frames = getattr(image, "n_frames", 1)
    keep = (not turned and image.format in _KEEP_FORMATS and image.mode in ("RGB", "L")
            and frames == 1 and not _is_16bit_png(data))
    if keep:
        return StoredImage(data, height, width, turned, height, width)
    out = io.BytesIO()
    _to_rgb8(image).save(out, format="PNG")
    return StoredImage(out.getvalue(), height, width, turned, height, width)


def is_unread_symbol(char: str, charset: Charset) -> bool:
    """Punctuation or a symbol (Unicode categories P and S) that `charset` cannot spell: with
    `unread_symbols`, training labels leave it out, as `synth` draws it without reading it."""
    return unicodedata.category(char)[0] in "PS" and bool(charset.unknown_chars(char))


def read_characters(text: str, charset: Charset | None, unread_symbols: bool) -> list[bool]:
    """For each character of `text`, whether the label keeps it."""
    if charset is None or not unread_symbols:
        return [True] * len(text)
    return [not is_unread_symbol(c, charset) for c in text]


def validate_text(text: Any, charset: Charset | None, max_length: int,
                  evaluation_set: bool = False, unread_symbols: bool = False) -> str:
    """The NFC text; raises RecordError if it is empty or, unless `evaluation_set` (where
    every record is scored), if the charset cannot spell it or it is too long. With
    `unread_symbols`, a training label's unread symbols are left out first."""
    if not isinstance(text, str):
        raise RecordError("bad_text", f"text must be a string, got {type(text).__name__}")
    text = normalize_text(text)
    if text == "":
        raise RecordError("empty_text", "the text is empty")
    if evaluation_set:
        return text
    text = "".join(c for c, kept in zip(text, read_characters(text, charset, unread_symbols))
                   if kept)
    if text == "":
        raise RecordError("empty_text", "the text holds only symbols the charset does not read")
    if charset is not None:
        unknown = charset.unknown_chars(text)
        if unknown:
            shown = "".join(dict.fromkeys(unknown))
            raise RecordError("unknown_chars", f"{len(unknown)} character(s) outside charset "
                                               f"{charset.name!r}: {shown!r} in {text!r}")
    if len(text) > max_length:
        raise RecordError("too_long", f"{len(text)} characters > {max_length}: {text!r}")
    return text


def polygon_area(points: np.ndarray) -> float:
    """Absolute shoelace area of a polygon given as [k, 2]."""
    if len(points) < 3:
        return 0.0
    x, y = points[:, 0], points[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def clip_polygon(points: np.ndarray, width: float, height: float) -> np.ndarray:
    """Sutherland-Hodgman clipping of a polygon [k, 2] to [0, width] x [0, height]."""
    def clip(poly, inside, intersect):
        out = []
        for i in range(len(poly)):
            cur, prev = poly[i], poly[i - 1]
            if inside(cur):
                if not inside(prev):
                    out.append(intersect(prev, cur))
                out.append(cur)
            elif inside(prev):
                out.append(intersect(prev, cur))
        return out

    def at_x(x0):
        return lambda p, q: (x0, p[1] + (q[1] - p[1]) * (x0 - p[0]) / (q[0] - p[0]))

    def at_y(y0):
        return lambda p, q: (p[0] + (q[0] - p[0]) * (y0 - p[1]) / (q[1] - p[1]), y0)

    poly = [tuple(p) for p in points]
    for inside, intersect in ((lambda p: p[0] >= 0, at_x(0.0)),
                              (lambda p: p[0] <= width, at_x(width)),
                              (lambda p: p[1] >= 0, at_y(0.0)),
                              (lambda p: p[1] <= height, at_y(height))):
        if not poly:
            break
        poly = clip(poly, inside, intersect)
    return np.asarray(poly, np.float64).reshape(-1, 2)


def to_quad(box: Sequence[float]) -> np.ndarray:
    """[x1, y1, x2, y2] or 8 quadrilateral coordinates to an [8] array."""
    values = np.asarray(box, np.float64).reshape(-1)
    if values.size == 4:
        x1, y1, x2, y2 = values
        return np.array([x1, y1, x2, y1, x2, y2, x1, y2])
    if values.size == 8:
        return values
    raise ValueError(f"a box needs 4 or 8 numbers, got {values.size}")


def validate_boxes(boxes: Any, text: str, width: int, height: int) -> np.ndarray | None:
    """Boxes as [len(text), 8] float32 clipped to the image, or None for no boxes."""
    if boxes is None:
        return None
    if not isinstance(boxes, (list, tuple, np.ndarray)):
        raise RecordError("bad_boxes", f"char_boxes must be a list, got {type(boxes).__name__}")
    if len(boxes) != len(text):
        raise RecordError("box_count", f"{len(boxes)} boxes for {len(text)} characters "
                                       f"of {text!r}")
    quads = []
    for k, box in enumerate(boxes):
        try:
            quad = to_quad(box)
        except (ValueError, TypeError) as e:
            raise RecordError("bad_boxes", f"box {k} ({text[k]!r}): {e}") from None
        if not np.all(np.isfinite(quad)):
            raise RecordError("bad_boxes", f"box {k} ({text[k]!r}) has non-finite values")
        points = quad.reshape(4, 2)
        area = polygon_area(points)
        if area < MIN_BOX_AREA:
            raise RecordError("degenerate_box",
                              f"box {k} ({text[k]!r}) {quad.tolist()} has area {area:.3g}")
        inside = polygon_area(clip_polygon(points, width, height)) / area
        if inside < MIN_INSIDE_FRACTION:
            raise RecordError("box_outside", f"box {k} ({text[k]!r}) {quad.tolist()} lies "
                                             f"{100 * (1 - inside):.0f}% outside the "
                                             f"{width}x{height} image")
        points[:, 0] = np.clip(points[:, 0], 0, width)
        points[:, 1] = np.clip(points[:, 1], 0, height)
        quads.append(points.reshape(8))
    return np.asarray(quads, np.float32)


@dataclasses.dataclass(frozen=True)
class ValidationOptions:
    """What `convert` asks of every record (ConvertConfig's part that its workers need)."""

    charset: str | None = None  # a charset spec; None accepts any characters
    max_length: int = NUM_SLOTS
    # Keep texts the charset cannot spell fully (scored against their normalised text).
    evaluation_set: bool = False
    # Leave a training label's unread symbols and their boxes out instead of rejecting it.
    unread_symbols: bool = False
    # Store a larger image shrunk, its boxes with it (pipelines/stored_size.py); 0: never.
    max_image_height: int = 0


def validate(item: RawItem, charset: Charset | None,
             options: ValidationOptions = ValidationOptions()) -> WordRecord:
    """Raises RecordError with the reason; returns a WordRecord ready to serialize, its text
    checked against `charset` (loaded from `options.charset`)."""
    if item.error is not None:
        raise item.error
    text = validate_text(item.text, charset, options.max_length, options.evaluation_set,
                         options.unread_symbols)
    data, char_boxes = read_image(item), item.char_boxes
    if item.word_quad is not None:
        from pipelines.rectify import cut_out_word  # rectify builds on this module
        data, char_boxes = cut_out_word(data, item.image_path, item.word_quad, char_boxes)
    image = validate_image(data, options.max_image_height)
    full_text = normalize_text(item.text)  # the boxes are given for every character
    relabelled = len(full_text) != len(text)
    boxes = validate_boxes(char_boxes, full_text, image.source_width, image.source_height)
    if boxes is not None:
        boxes *= np.tile([image.width / image.source_width,
                          image.height / image.source_height], 4).astype(np.float32)
        if relabelled:
            boxes = boxes[read_characters(full_text, charset, options.unread_symbols)]
    return WordRecord(image=image.data, height=image.height, width=image.width, text=text,
                      source=item.source, char_boxes=boxes, unread=full_text if relabelled else "",
                      turned_upright=image.turned,
                      shrunk=image.height < image.source_height)


# Per-process state for parallel validation (see pipelines.parallel.ordered_map).
_worker_options = ValidationOptions()
_worker_charset: Charset | None = None


def init_worker(options: ValidationOptions) -> None:
    from textscanner.charset import load_charset
    global _worker_options, _worker_charset
    _worker_options = options
    _worker_charset = load_charset(options.charset) if options.charset else None


def describe_item(item: RawItem) -> str:
    """Names an item in error messages: its source (file:line or LMDB path#key)."""
    return item.source


def validate_or_error(item: RawItem) -> WordRecord | tuple[str, str, str]:
    """A WordRecord, or (source, reason, message) for a rejected item."""
    try:
        return validate(item, _worker_charset, _worker_options)
    except RecordError as e:
        return item.source, e.reason, e.message

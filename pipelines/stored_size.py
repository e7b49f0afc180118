"""How large `convert` stores an image: no larger than training can use.

Training decodes every stored image each time it draws it, and on a CPU decoding a
photograph's crop of several hundred pixels costs more than the model's step spends on it
(BUILD.md, "Stored image size"). The model reads 32x128 or 64x256 pixels, four times as wide
as high, so an image is shrunk, its aspect kept, until it is `max_height` high or
`4 * max_height` wide, whichever it reaches last: neither side goes below what the larger
input can use. Character boxes are scaled with it.
"""

from __future__ import annotations

import io

from PIL import Image

# The model's inputs (32x128, the paper's 64x256) are this many times as wide as high.
WIDTH_PER_HEIGHT = 4
DEFAULT_MAX_HEIGHT = 128  # twice the paper's input height


def shrink_factor(height: int, width: int, max_height: int) -> float:
    """The factor (<= 1) to store a height x width image at; 1 when `max_height` is 0."""
    if max_height <= 0:
        return 1.0
    return max(min(1.0, max_height / height), min(1.0, WIDTH_PER_HEIGHT * max_height / width))


def shrunk(image: Image.Image, factor: float, jpeg: bool) -> tuple[bytes, int, int]:
    """An 8-bit RGB or grey image scaled by `factor`, encoded as JPEG (for a JPEG source, whose
    pixels are lossy already) or PNG; returns (bytes, height, width)."""
    width = max(1, round(image.width * factor))
    height = max(1, round(image.height * factor))
    # Lanczos low-passes as it shrinks; the reducing gap first averages whole pixel blocks.
    small = image.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
    out = io.BytesIO()
    if jpeg:
        small.save(out, format="JPEG", quality=95)
    else:
        small.save(out, format="PNG")
    return out.getvalue(), height, width

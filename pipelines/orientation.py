"""Images turned as they are meant to be seen. Cameras and phones store a photo's pixels as
the sensor read them and write an EXIF orientation tag (2-8) saying how to turn or mirror
them for viewing; viewers, Pillow's `exif_transpose` and OpenCV's `imread` honour it, while
TensorFlow's decoders ignore it, so a word photographed with the phone upright would be read
lying on its side. TensorFlow-free: convert's worker processes import it."""

from __future__ import annotations

from PIL import Image, ImageOps

EXIF_ORIENTATION = 0x0112  # the EXIF tag; 1 (or none) means the pixels are stored upright


def upright(image: Image.Image) -> tuple[Image.Image, bool]:
    """The image as its EXIF orientation says it is seen, and whether that turned it."""
    orientation = image.getexif().get(EXIF_ORIENTATION, 1)
    if orientation not in range(2, 9):
        return image, False
    return ImageOps.exif_transpose(image), True

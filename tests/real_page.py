"""Word crops from a real image rather than a rendered one: scikit-image's page.png, a page of
printed text photographed under uneven light, with the words boxed by hand in
tests/data/page_words.tsv. `synth` never draws on this image (its backgrounds are other files).

    python -m tests.real_page OUT_DIR   # OUT_DIR/NN.png and OUT_DIR/labels.tsv for `convert`
"""

from __future__ import annotations

import os
import sys

from PIL import Image

from pipelines.synth_scene import photo_folder

BOXES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "page_words.tsv")


def page_words() -> list[tuple[tuple[int, int, int, int], str]]:
    """(left, top, right, bottom) and the printed word, in reading order."""
    words = []
    with open(BOXES, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            box, word = line.rstrip("\n").split("\t")
            left, top, right, bottom = (int(v) for v in box.split())
            words.append(((left, top, right, bottom), word))
    return words


def write_page_crops(folder: str, prefix: str = "") -> list[tuple[str, str]]:
    """Writes each word's crop as `folder/{prefix}NN.png`; returns (file name, word) pairs."""
    with Image.open(os.path.join(photo_folder(), "page.png")) as page:
        page = page.convert("RGB")
        written = []
        for i, (box, word) in enumerate(page_words()):
            name = f"{prefix}{i:02d}.png"
            page.crop(box).save(os.path.join(folder, name))
            written.append((name, word))
    return written


if __name__ == "__main__":
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "labels.tsv"), "w", encoding="utf-8") as labels:
        labels.writelines(f"{name}\t{word}\n" for name, word in write_page_crops(out))

"""The model shipped with the project: found by name, and it reads words out of the box."""

import os

import numpy as np
import pytest
from PIL import Image, ImageDraw

from loops import pretrained
from pipelines.fonts import bundled_font_folder, package_fonts
from tests.cli import run_main

NAME = "small-alnum36"


def test_names_resolve_to_shipped_folders_and_other_paths_pass_through():
    assert NAME in pretrained.available()
    folder = pretrained.resolve(pretrained.PREFIX + NAME)
    assert os.path.isfile(os.path.join(folder, "model_spec.json"))
    assert os.path.isfile(os.path.join(folder, "MODEL_CARD.md"))
    assert pretrained.resolve("runs/a") == "runs/a"
    with pytest.raises(ValueError, match=f"no pretrained model 'nope'; shipped: .*{NAME}"):
        pretrained.resolve("pretrained:nope")


def test_the_shipped_model_reads_printed_words(tmp_path):
    """Words printed in three faces, dark on light and light on dark: a model that loads
    but reads nothing (wrong weights, wrong charset, wrong preprocessing) fails here."""
    words = ["OPEN", "hotel", "2026", "Market", "EXIT", "coffee", "Bank", "street", "PIZZA",
             "police", "Sale", "london"]
    fonts = [os.path.join(bundled_font_folder(), "DejaVuSans-Bold.ttf"),
             *(f for f in package_fonts() if f.endswith(("Lato-Regular.ttf",
                                                         "SourceSerifPro-Regular.ttf")))]
    from PIL import ImageFont
    rng = np.random.default_rng(0)
    for i, word in enumerate(words):
        font = ImageFont.truetype(fonts[i % len(fonts)], 36)
        left, top, right, bottom = font.getbbox(word)
        ink, paper = ((30, 30, 60), (235, 230, 210)) if i % 2 else ((250, 250, 240), (40, 70, 120))
        image = Image.new("RGB", (right - left + 24, bottom - top + 16), paper)
        ImageDraw.Draw(image).text((12 - left, 8 - top), word, font=font, fill=ink)
        noisy = np.asarray(image, np.float32) + rng.normal(0, 6, (image.height, image.width, 3))
        Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(tmp_path / f"{i:02d}.png")
    out = run_main("predict", f"--model_dir=pretrained:{NAME}", str(tmp_path / "*.png"))
    read = [line.split("\t")[1] for line in out.stdout.strip().splitlines()]
    correct = sum(r == w.lower() for r, w in zip(read, words))
    assert len(read) == len(words) and correct >= 10, list(zip(words, read))

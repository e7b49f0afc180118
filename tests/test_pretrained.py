"""The model shipped with the project: found by name, and it reads words out of the box."""

import dataclasses
import os

import numpy as np
import pytest
from absl import flags as absl_flags
from PIL import Image, ImageDraw, ImageFont

from loops import pretrained
from pipelines.fonts import bundled_font_folder, package_fonts
from tests.cli import run_main
from tests.real_page import page_words, write_page_crops

NAME = "small-alnum36"


def test_names_resolve_to_shipped_folders_and_other_paths_pass_through():
    assert NAME in pretrained.available()
    folder = pretrained.resolve(pretrained.PREFIX + NAME)
    assert os.path.isfile(os.path.join(folder, "model_spec.json"))
    assert os.path.isfile(os.path.join(folder, "MODEL_CARD.md"))
    assert pretrained.resolve("runs/a") == "runs/a"
    with pytest.raises(ValueError, match=f"no pretrained model 'nope'; shipped: .*{NAME}"):
        pretrained.resolve("pretrained:nope")


PRINTED = ["OPEN", "hotel", "2026", "Market", "EXIT", "coffee", "Bank", "street", "PIZZA",
           "police", "Sale", "london"]
# Punctuation and symbols outside the charset: read past, as the benchmarks' labels do.
PUNCTUATED = {"OPEN:": "open", "(hotel)": "hotel", "$20.50": "2050", "Exit!": "exit",
              "12:30": "1230", "don't": "dont", "Bank,": "bank", '"coffee"': "coffee",
              "50%": "50", "street.": "street", "www.taxi.com": "wwwtaxicom", "A-204": "a204"}


def _write_printed_words(folder, words: list[str], prefix: str) -> None:
    """`words` in three faces, dark on light and light on dark, as PREFIX-NN.png."""
    fonts = [os.path.join(bundled_font_folder(), "DejaVuSans-Bold.ttf"),
             *(f for f in package_fonts() if f.endswith(("Lato-Regular.ttf",
                                                         "SourceSerifPro-Regular.ttf")))]
    rng = np.random.default_rng(0)
    for i, word in enumerate(words):
        font = ImageFont.truetype(fonts[i % len(fonts)], 36)
        left, top, right, bottom = font.getbbox(word)
        ink, paper = ((30, 30, 60), (235, 230, 210)) if i % 2 else ((250, 250, 240), (40, 70, 120))
        image = Image.new("RGB", (right - left + 24, bottom - top + 16), paper)
        ImageDraw.Draw(image).text((12 - left, 8 - top), word, font=font, fill=ink)
        noisy = np.asarray(image, np.float32) + rng.normal(0, 6, (image.height, image.width, 3))
        Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(
            folder / f"{prefix}-{i:02d}.png")


TURNED = 6  # printed words saved as a phone saves a photo taken turned: pixels and EXIF tag


def _write_turned_copies(folder, count: int) -> None:
    """printed-NN.png stored lying on its side as turned-NN.jpg, with the EXIF orientation (6
    or 8) that tells a viewer to stand it up again."""
    for i in range(count):
        upright = Image.open(folder / f"printed-{i:02d}.png")
        orientation = (6, 8)[i % 2]
        stored = upright.transpose(Image.Transpose.ROTATE_90 if orientation == 6
                                   else Image.Transpose.ROTATE_270)
        exif = Image.Exif()
        exif[0x0112] = orientation
        stored.save(folder / f"turned-{i:02d}.jpg", quality=95, exif=exif)


TRANSPARENT = 4  # printed words as logos are exported: black ink, a transparent background


def _write_transparent_words(folder, words: list[str]) -> None:
    """clear-NN.png: the word's ink in the alpha channel alone; every pixel's colour black,
    so that a reader which drops the alpha sees black on black."""
    font = ImageFont.truetype(os.path.join(bundled_font_folder(), "DejaVuSans-Bold.ttf"), 36)
    for i, word in enumerate(words):
        left, top, right, bottom = font.getbbox(word)
        alpha = Image.new("L", (right - left + 24, bottom - top + 16), 0)
        ImageDraw.Draw(alpha).text((12 - left, 8 - top), word, font=font, fill=255)
        image = Image.new("RGBA", alpha.size, (0, 0, 0, 0))
        image.putalpha(alpha)
        image.save(folder / f"clear-{i:02d}.png")


@pytest.fixture(scope="session")
def shipped_model_reads(tmp_path_factory) -> dict[str, str]:
    """What `predict` with the shipped model reads in each image (by file name): the printed
    words, with and without punctuation, and the real page's words, in one process."""
    folder = tmp_path_factory.mktemp("shipped_reads")
    _write_printed_words(folder, PRINTED, "printed")
    _write_printed_words(folder, list(PUNCTUATED), "punctuated")
    write_page_crops(str(folder), prefix="page-")
    _write_turned_copies(folder, TURNED)
    _write_transparent_words(folder, PRINTED[:TRANSPARENT])
    out = run_main("predict", f"--model_dir=pretrained:{NAME}", str(folder / "*.png"),
                   str(folder / "*.jpg"))
    rows = [line.split("\t") for line in out.stdout.strip().splitlines()]
    return {os.path.basename(path): text for path, text, _ in rows}


def test_the_shipped_model_reads_printed_words(shipped_model_reads):
    """A model that loads but reads nothing (wrong weights, wrong charset, wrong
    preprocessing) fails here."""
    read = [shipped_model_reads[f"printed-{i:02d}.png"] for i in range(len(PRINTED))]
    correct = sum(r == w.lower() for r, w in zip(read, PRINTED))
    assert correct >= 10, list(zip(PRINTED, read))


def test_predict_reads_a_photo_stored_turned_as_its_exif_orientation_shows_it(
        shipped_model_reads):
    """TensorFlow's decoders ignore EXIF orientation; read as stored, these words lie on
    their side (checked: the same files with the tag stripped read otherwise)."""
    upright = [shipped_model_reads[f"printed-{i:02d}.png"] for i in range(TURNED)]
    turned = [shipped_model_reads[f"turned-{i:02d}.jpg"] for i in range(TURNED)]
    assert sum(t == u for t, u in zip(turned, upright)) >= TURNED - 1, list(zip(upright, turned))
    assert sum(t == w.lower() for t, w in zip(turned, PRINTED)) >= TURNED - 2


def test_predict_reads_a_transparent_image_over_white_as_convert_stores_it(shipped_model_reads):
    """Transparency is composited over white, as `convert` stores such images; TensorFlow's
    PNG decoder with three channels drops the alpha and leaves black on black."""
    read = [shipped_model_reads[f"clear-{i:02d}.png"] for i in range(TRANSPARENT)]
    assert sum(r == w.lower() for r, w in zip(read, PRINTED)) >= TRANSPARENT - 1, read


def test_the_shipped_model_reads_past_punctuation_and_symbols(shipped_model_reads):
    """Trained on words drawn with symbols it does not read (synth's unread symbols); a model
    trained without them reads a colon, a bracket or a dollar sign as a character."""
    read = [shipped_model_reads[f"punctuated-{i:02d}.png"] for i in range(len(PUNCTUATED))]
    correct = sum(r == want for r, want in zip(read, PUNCTUATED.values()))
    assert correct >= 9, list(zip(PUNCTUATED, read))


def test_the_shipped_model_reads_a_real_photographed_page(shipped_model_reads):
    """44 words cropped from a photograph of a printed page (tests/real_page.py), scored as
    `evaluate` scores a Latin alphanumeric charset."""
    from textscanner.metrics import RecognitionMetrics
    words = [word for _, word in page_words()]
    read = [shipped_model_reads[f"page-{i:02d}.png"] for i in range(len(words))]
    metrics = RecognitionMetrics()  # the rule of a Latin alphanumeric charset
    for prediction, truth in zip(read, words):
        metrics.update(prediction, truth)
    assert metrics.count == 44 and metrics.correct >= 36, list(zip(words, read))


def test_auto_picks_the_shipped_model_only_for_its_own_network_and_charset():
    from loops import warm_start
    from textscanner.charset import load_charset
    from textscanner.config import ModelConfig
    from textscanner.model import with_backbone_widths

    import flags.definitions  # noqa: F401  (defines the CLI's flags, to read their defaults)
    defaults = {name: absl_flags.FLAGS[name].default for name in
                ("charset", "backbone", "num_slots", "input_height", "input_width",
                 "bidirectional_gru", "init_checkpoint")}
    assert defaults.pop("init_checkpoint") == "auto"
    alnum36 = load_charset(defaults.pop("charset"))
    # The network `train` builds from its default flags (widths resolved, as the model has them).
    default = with_backbone_widths(ModelConfig(num_classes=alnum36.num_classes, **defaults))
    shipped = pretrained.PREFIX + NAME
    assert warm_start.shipped_model_for(default, alnum36) == shipped
    # Neither where a backbone's weights came from nor synchronised BN changes the weights.
    assert warm_start.shipped_model_for(
        dataclasses.replace(default, sync_batch_norm=True), alnum36) == shipped
    alnum62 = load_charset("alnum62")
    others = [(dataclasses.replace(default, num_classes=alnum62.num_classes), alnum62),
              (dataclasses.replace(default, input_height=64, input_width=256), alnum36),
              (dataclasses.replace(default, order_channels=(8, 16, 32)), alnum36),
              (dataclasses.replace(default, bidirectional_gru=True), alnum36),
              (with_backbone_widths(ModelConfig(num_classes=alnum36.num_classes,
                                                backbone="resnet50")), alnum36)]
    for model, charset in others:
        assert warm_start.shipped_model_for(model, charset) is None, model
        assert warm_start.choose("auto", model, charset).source is None
    start = warm_start.choose("auto", default, alnum36)
    assert start.source == shipped and "--init_checkpoint=none" in start.reason
    assert warm_start.choose("none", default, alnum36).source is None
    assert warm_start.choose(None, default, alnum36).source is None
    assert warm_start.choose("runs/a", default, alnum36).source == "runs/a"

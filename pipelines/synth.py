"""`synth`: renders word images with Pillow and the exact quadrilateral of every character.

Sample i depends only on (seed, i), so output is identical whatever the number of workers.
TensorFlow-free at import time: worker processes import this module.
"""

from __future__ import annotations

import dataclasses
import enum
import io
import logging
import os
import string
from typing import Iterator, Sequence

import numpy as np

from pipelines.fonts import BUILTIN_FONT, expand_font_specs, load_font
from pipelines.glyphs import select_fonts
from pipelines.records import WordRecord
from pipelines.synth_scene import STYLES, SceneEffects, photo_folder, photos
from pipelines.camera import poor_capture, shake_and_glare
from pipelines.word_render import Outline, WordVariant, render_word
from textscanner.charset import Charset, load_charset

log = logging.getLogger(__name__)


@enum.unique
class Stream(enum.IntEnum):
    """The random streams of a sample beside its main one, one per effect added after the
    first, so that adding an effect left every other draw of a seed unchanged. Unique: two
    effects drawing from one stream would draw together (a word smeared would be cut tight)."""

    CAPTURE = 1
    LOOSE_CROP = 2
    LETTERING = 3
    SPACING = 4
    LOOK = 5
    CAMERA = 6
    TIGHT_CROP = 7
    COLOUR = 8
    TILT = 9


def stream(seed: int, index: int, which: Stream) -> np.random.Generator:
    """Sample `index`'s stream `which` of the run seeded `seed`."""
    return np.random.default_rng([seed, index, int(which)])


# Common English and sign words: the web addresses' names, and `random_text`'s words when it
# is given no corpus.
_WORDS = """the of and to in is you that it he was for on are as with his they at be this from
have or by one had not but what all were when we there can an your which their said if do will
each about how up out them then she many some so these would other into has more her two like
him see time could no make than first been its who now people my made over did down only way
find use may water long little very after words called just where most know get through back
much before go good new write our used me man too any day same right look think also around
another came come work three word must because does part even place well such here take why
things help put years different away again off went old number great tell men say small every
found still between name should home big give air line set own under read last never us left
end along while might next sound below saw something thought both few those always looked show
large often together asked house world going want school important until form food keep children
feet land side without boy once animals life enough took sometimes four head above kind began
almost live page got earth need far hand high year mother light parts country father let night
following picture being study second eyes soon times story boys since white days ever paper hard
near sentence better best across during today others however sure means knew its try told young
miles sun ways thing whole hear example heard several change answer room sea against top turned
learn point city play toward five using himself usually money seen car morning station hotel
street london paris coffee market garden river bridge museum bank police taxi open closed exit
sale pizza restaurant center park airport shop pharmacy bakery stop north south east west""".split()

CORPUS_SIZE = 30000  # the most frequent words: common words, names, places, brands

_SYLLABLES = ("ba be bi bo bu ca co cu da de di do du fa fe fi fo ga go gu ha he hi ho la le "
              "li lo lu ma me mi mo mu na ne ni no nu pa pe pi po pu ra re ri ro ru sa se si so "
              "su ta te ti to tu va ve vi vo za ze zo an en in on un ar er or st th ch sh ck "
              "ing ed ly er ion est").split()


@dataclasses.dataclass
class SynthConfig:
    output: str = ""  # TFRecord prefix
    num_samples: int = 1000
    seed: int = 0
    charset: str = "alnum36"
    # Font files, folders of them, `default` (fonts.default_fonts()) and `system` (every
    # face fontconfig lists); empty: `default`. Faces that cannot draw what synth draws
    # for the charset are left out (pipelines/glyphs.py).
    fonts: tuple[str, ...] = ()
    num_shards: int = 4
    num_workers: int = 0  # 0: one per core
    min_length: int = 1
    max_length: int = 12
    min_font_size: int = 20
    max_font_size: int = 44
    max_rotation_degrees: float = 4.0
    max_shear: float = 0.15
    blur_probability: float = 0.3
    noise_probability: float = 0.3
    # Variety beyond the font files: strokes thickened (bolder faces) and glyphs stretched or
    # squeezed horizontally (condensed and extended faces), so that a model sees more letter
    # shapes than the few fonts on the machine draw.
    stroke_probability: float = 0.0
    max_stretch: float = 0.0  # width scaled by a factor in [1 / (1 + s), 1 + s]
    # "photo": photograph and texture backgrounds, shadows, borders, curves, perspective,
    # neighbouring text, occlusion, low resolution (pipelines/synth_scene.py); "plain":
    # flat and gradient backgrounds only.
    style: str = "photo"
    # Language of the corpus words (a wordfreq code: en, de, fr, es, zh, ...); words with
    # characters outside the charset lose them, or give way to a random string.
    language: str = "en"
    # Punctuation around words, and the symbols of prices, codes, web addresses, dates, times
    # and percentages, drawn even where the charset lacks them: then they are drawn without
    # a box and left out of the label, as the benchmarks' alphanumeric labels leave them out
    # of real crops, so that a model learns to read past them.
    unread_symbols: bool = True
    clean: bool = False  # no rotation, shear, blur, noise, stroke, stretch, style or unread
    # symbols (tests)


def _alphabet(charset: Charset) -> list[str]:
    chars = list(charset.chars)
    if charset.case_fold:  # case-folded sets still see both cases in images
        chars += [c.upper() for c in chars if c.upper() != c and len(c.upper()) == 1]
    return chars


# Charsets with these symbols get prices, codes, web addresses, dates, times and
# percentages (half of the random strings); others too with `unread_symbols`.
_PATTERN_SYMBOLS = frozenset("$.-/:%")
# Attached to a share of the words and pseudo-words with `unread_symbols`.
_TRAILING_PUNCTUATION = ".,:;!?"
_ENCLOSING_PUNCTUATION = ("()", '""', "''")
PUNCTUATION_SHARE = 0.2
# What may be drawn outside the charset (never read): the symbols above and apostrophes.
DRAWN_SYMBOLS = (_PATTERN_SYMBOLS | frozenset(_TRAILING_PUNCTUATION)
                 | frozenset("".join(_ENCLOSING_PUNCTUATION)) | frozenset("'"))


def _formatted_text(rng: np.random.Generator) -> str:
    """A price, product code, web address, date, time or percentage."""
    def digits(n: int) -> str:
        return "".join(str(d) for d in rng.integers(0, 10, size=n))

    kind = int(rng.integers(6))
    if kind == 0:
        return f"${int(rng.integers(1, 1000))}.{digits(2)}"
    if kind == 1:
        letters = "".join(rng.choice(list(string.ascii_uppercase), size=rng.integers(1, 4)))
        return f"{letters}-{digits(int(rng.integers(2, 6)))}"
    if kind == 2:
        word = _WORDS[rng.integers(len(_WORDS))]
        return f"www.{word}.{('com', 'org', 'net', 'de', 'uk')[rng.integers(5)]}"
    if kind == 3:
        return f"{int(rng.integers(1, 29)):02d}/{int(rng.integers(1, 13)):02d}/{digits(4)}"
    if kind == 4:
        return f"{int(rng.integers(0, 24)):02d}:{int(rng.integers(0, 60)):02d}"
    return f"{int(rng.integers(0, 101))}%"


def corpus_words(language: str, size: int = CORPUS_SIZE) -> tuple[str, ...]:
    """The `size` most frequent words of a language (wordfreq's lists, shipped in its
    wheel: web text, subtitles, news, books), all equally likely to be drawn."""
    import wordfreq  # here: only synth's processes need it
    try:
        words = tuple(wordfreq.top_n_list(language, size))
    except LookupError:
        words = ()
    if not words:
        raise ValueError(f"wordfreq has no word list for language {language!r}")
    return words


def _punctuate(rng: np.random.Generator, word: str) -> str:
    """`word` followed by a punctuation mark, or enclosed in brackets or quotes."""
    if rng.random() < 0.7:
        return word + _TRAILING_PUNCTUATION[rng.integers(len(_TRAILING_PUNCTUATION))]
    left, right = _ENCLOSING_PUNCTUATION[rng.integers(len(_ENCLOSING_PUNCTUATION))]
    return left + word + right


def readable_part(text: str, alphabet: Sequence[str] | set[str]) -> str:
    """The characters of `text` that are read: those of the alphabet."""
    return "".join(c for c in text if c in alphabet)


def random_text(rng: np.random.Generator, alphabet: Sequence[str], min_len: int,
                max_len: int, words: Sequence[str] = _WORDS,
                unread_symbols: bool = False) -> str:
    """What to draw: words of `words` (a corpus), pseudo-words, numbers, formatted strings
    or random strings, in varied case. Formatted strings come where the alphabet has their
    symbols; with `unread_symbols` also elsewhere, and words may carry punctuation: then the
    text holds symbols outside the alphabet, which are drawn but not read (`readable_part`,
    of `min_len` to `max_len` characters)."""
    letters = set(alphabet)
    drawn = letters | DRAWN_SYMBOLS if unread_symbols else letters
    kind = rng.random()
    if kind < 0.35:
        word = words[rng.integers(len(words))]
    elif kind < 0.55:
        syllables = rng.integers(len(_SYLLABLES), size=rng.integers(1, 5))
        word = "".join(_SYLLABLES[i] for i in syllables)
    elif kind < 0.7:
        word = "".join(rng.choice(list(string.digits), size=rng.integers(1, 9)))
    elif (unread_symbols or _PATTERN_SYMBOLS <= letters) and rng.random() < 0.5:
        word = _formatted_text(rng)
    else:
        word = ""
    word = "".join(c for c in word if c in drawn or c.upper() in drawn)
    case = rng.random()
    if case < 0.2:
        word = word.upper()
    elif case < 0.45:
        word = word.capitalize()
    word = "".join(c for c in word if c in drawn)
    if unread_symbols and kind < 0.55 and word and rng.random() < PUNCTUATION_SHARE:
        word = _punctuate(rng, word)
    if not (min_len <= len(readable_part(word, letters)) <= max_len):
        length = int(rng.integers(min_len, max_len + 1))
        word = "".join(alphabet[i] for i in rng.integers(len(alphabet), size=length))
    return word


# Per-process state for parallel rendering.
_state: dict = {}


def check_style(config: SynthConfig) -> SceneEffects:
    """The style's effects; raises ValueError for an unknown style and FileNotFoundError
    when its photographs are not installed."""
    if config.style not in STYLES:
        raise ValueError(f"unknown synth style {config.style!r}; choose one of {list(STYLES)}")
    effects = STYLES[config.style]
    if effects.photo_background > 0 and not config.clean and photo_folder() is None:
        photos()  # raises, naming what to install
    return effects


def check_fonts(config: SynthConfig) -> list[str]:
    """The font files `config.fonts` names; raises FileNotFoundError naming a missing one."""
    fonts = expand_font_specs(config.fonts)
    for path in fonts:
        if path != BUILTIN_FONT and not os.path.isfile(path):
            raise FileNotFoundError(f"font file not found: {path}")
    return fonts


def drawn_characters(config: SynthConfig) -> set[str]:
    """Every character synth may draw for `config`: the charset's (both cases of a
    case-folded one) and, with `unread_symbols`, the symbols it draws unread."""
    drawn = set(_alphabet(load_charset(config.charset)))
    if config.unread_symbols and not config.clean:
        drawn |= DRAWN_SYMBOLS
    return drawn


def choose_fonts(config: SynthConfig) -> list[str]:
    """The faces of `config.fonts` that draw every character synth draws for the charset and
    tell its classes apart; the others are logged. Raises ValueError when none does."""
    charset = load_charset(config.charset)
    known = set(charset.chars)

    def read_as(char: str) -> str | None:
        label = charset.prepare(char)
        return label if label in known else None

    fonts = check_fonts(config)
    selection = select_fonts(fonts, drawn_characters(config), read_as)
    if not selection.kept:
        raise ValueError(f"no font of --font={','.join(config.fonts) or 'default'} can draw "
                         f"what synth draws for charset {config.charset}: "
                         f"{selection.describe_left_out()}; name faces that do with --font "
                         f"(files, folders, or 'system')")
    if selection.left_out:
        log.warning("synth: %d of %d faces left out: %s", len(selection.left_out), len(fonts),
                    selection.describe_left_out())
    log.info("synth: drawing with %d faces", len(selection.kept))
    return selection.kept


def init_worker(config: SynthConfig) -> None:
    alphabet = _alphabet(load_charset(config.charset))
    _state.update(config=config, alphabet=alphabet, letters=set(alphabet),
                  fonts=check_fonts(config), words=corpus_words(config.language))


def _variant(seed: int, index: int, effects: SceneEffects, font_size: int) -> WordVariant:
    """The effects added after the first: each draws from a stream of its own, so that
    adding it left every other draw of a seed unchanged."""
    loose = stream(seed, index, Stream.LOOSE_CROP)
    extra_margins = None
    if loose.random() < effects.loose_crop:
        extra_margins = loose.uniform(*effects.loose_crop_margin, size=4)
    lettering = stream(seed, index, Stream.LETTERING)
    outline = None
    if lettering.random() < effects.outline:
        width = max(1, round(font_size * lettering.uniform(*effects.outline_width)))
        outline = Outline(width, float(lettering.uniform(*effects.outline_inside)))
    spacing = stream(seed, index, Stream.SPACING)
    letter_spacing = None
    if spacing.random() < effects.letter_spacing:
        low, high = effects.letter_spacing_range
        crowded = spacing.random() < effects.crowded_share
        letter_spacing = float(spacing.uniform(low, 0.0) if crowded else spacing.uniform(0.0, high))
    look = stream(seed, index, Stream.LOOK)
    dot_pitch = relief = None
    draw = look.random()
    if outline is None and draw < effects.dot_matrix:
        dot_pitch = max(3, round(font_size * look.uniform(*effects.dot_pitch)))
    elif outline is None and draw < effects.dot_matrix + effects.relief:
        relief = max(1, round(font_size * look.uniform(*effects.relief_depth)))
    tight = stream(seed, index, Stream.TIGHT_CROP)
    tight_margins = None
    if tight.random() < effects.tight_crop and extra_margins is None:
        side, across = effects.tight_crop_side, effects.tight_crop_margin
        tight_margins = np.array([tight.uniform(*side), tight.uniform(*across),
                                  tight.uniform(*side), tight.uniform(*across)])
    colour = stream(seed, index, Stream.COLOUR)
    hue_contrast = None
    if colour.random() < effects.hue_contrast:
        luma = colour.uniform(*effects.hue_contrast_luma) * colour.choice([-1.0, 1.0])
        hue_contrast = (float(luma), float(colour.uniform(-np.pi / 2, np.pi / 2)),
                        float(colour.uniform()))
    tilt = stream(seed, index, Stream.TILT)
    rotation = None
    if tilt.random() < effects.tilt:
        rotation = float(tilt.uniform(*effects.tilt_degrees) * tilt.choice([-1.0, 1.0]))
    return WordVariant(extra_margins, outline, letter_spacing, dot_pitch, relief,
                       tight_margins, hue_contrast, rotation)


def render_sample(index: int) -> WordRecord:
    """Sample `index` of the configured run; depends only on (seed, index)."""
    config: SynthConfig = _state["config"]
    rng = np.random.default_rng([config.seed, index])
    drawn = random_text(rng, _state["alphabet"], config.min_length, config.max_length,
                        _state["words"], config.unread_symbols and not config.clean)
    font_path = _state["fonts"][rng.integers(len(_state["fonts"]))]
    font = load_font(font_path, int(rng.integers(config.min_font_size, config.max_font_size + 1)))
    effects = STYLES[config.style]
    variant = WordVariant() if config.clean else _variant(config.seed, index, effects, font.size)
    word = render_word(drawn, font, rng, config.clean, config.max_rotation_degrees,
                       config.max_shear, config.blur_probability, config.noise_probability,
                       config.stroke_probability, config.max_stretch, effects, variant)
    if not config.clean:
        word = shake_and_glare(word, stream(config.seed, index, Stream.CAMERA), effects,
                               font.size)
    quality = int(rng.integers(effects.min_jpeg_quality, 96))
    capture_rng = stream(config.seed, index, Stream.CAPTURE)
    # A word told from its background by hue is not also faded: fading takes the hue
    # difference with the rest, and leaves nothing to read.
    if (not config.clean and capture_rng.random() < effects.poor_capture
            and not word.hued):
        word = poor_capture(word, capture_rng)
        quality = int(capture_rng.integers(*effects.poor_capture_jpeg_quality))
    out = io.BytesIO()
    word.image.save(out, format="JPEG", quality=quality)
    return WordRecord(image=out.getvalue(), height=word.image.height, width=word.image.width,
                      text=readable_part(drawn, _state["letters"]),
                      source=f"synth:seed={config.seed}:{index}",
                      char_boxes=word.quads[[c in _state["letters"] for c in drawn]])


def render_samples(config: SynthConfig, start: int = 0) -> Iterator[WordRecord]:
    """Samples start .. start + num_samples - 1, rendered in parallel, in order."""
    from pipelines.parallel import ordered_map
    workers = config.num_workers or os.cpu_count() or 1
    # Here, so that a missing or unfit font is a plain error, not a worker's; the workers
    # get the chosen files.
    config = dataclasses.replace(config, fonts=tuple(choose_fonts(config)))
    check_style(config)
    load_charset(config.charset)
    corpus_words(config.language)  # an unknown language is a plain error too
    return ordered_map(render_sample, range(start, start + config.num_samples), workers,
                       init_worker, (config,), describe=describe_sample)


def describe_sample(index: int) -> str:
    return f"synth sample {index}"


def write_synth(config: SynthConfig):
    """Renders `config.num_samples` words into sharded TFRecords; returns the report."""
    from pipelines.convert import write_records
    from pipelines.report import ConversionReport
    report = write_records(render_samples(config), config.output, config.num_shards,
                           ConversionReport())
    report.save(f"{config.output}.report.json")
    log.info("synth: %s", report.summary())
    return report

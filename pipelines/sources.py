"""Label sources for `convert`: tsv, jsonl, LMDB, MJSynth's folder layout, ICDAR's
word-recognition gt.txt and 2003's word.xml (`pipelines/icdar2003.py`), and the scene
layouts whose words are cut out: ICDAR's localisation gt_*.txt (`pipelines/icdar_scenes.py`),
SynthText's gt.mat (`pipelines/synthtext.py`), Street View Text's XML (`pipelines/svt.py`)
and COCO-Text's and TextOCR's JSON (`pipelines/coco_text.py`); IIIT5K's .mat files
(`pipelines/iiit5k.py`). Each yields RawItems in order."""

from __future__ import annotations

import json
import os
import re
from typing import Iterator

from pipelines.coco_text import read_coco_text
from pipelines.icdar2003 import read_icdar2003_words
from pipelines.icdar_scenes import read_icdar_scenes
from pipelines.iiit5k import read_iiit5k
from pipelines.label_lines import DEFAULT_ENCODING, decode_line, label_lines
from pipelines.svt import read_svt
from pipelines.synthtext import read_synthtext
from pipelines.validation import LabelFileError, RawItem, RecordError
from textscanner import storage

INPUT_FORMATS = ("tsv", "jsonl", "lmdb", "mjsynth", "synthtext", "iiit5k", "icdar",
                 "icdar_scenes", "svt", "coco_text")


def read_tsv(path: str, image_root: str | None = None,
             encoding: str = DEFAULT_ENCODING) -> Iterator[RawItem]:
    """`relative/path.png<TAB>text` per line."""
    root = image_root or storage.dirname(path)
    for line_no, raw in label_lines(path):
        source = f"{path}:{line_no}"
        line, error = decode_line(raw, encoding)
        if error is None and "\t" not in line:
            error = RecordError("missing_tab", f"no TAB between image path and text: {line!r}")
        if error is not None:
            yield RawItem(source=source, error=error)
            continue
        rel, text = line.split("\t", 1)
        yield RawItem(source=source, text=text, image_path=os.path.join(root, rel))


def read_jsonl(path: str, image_root: str | None = None,
               encoding: str = DEFAULT_ENCODING) -> Iterator[RawItem]:
    """`{"image": ..., "text": ..., "char_boxes": [...]}` per line (char_boxes optional)."""
    root = image_root or storage.dirname(path)
    for line_no, raw in label_lines(path):
        source = f"{path}:{line_no}"
        line, error = decode_line(raw, encoding)
        obj = None
        if error is None:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                error = RecordError("malformed_json", f"{e.msg} at column {e.colno}")
        if error is None and not (isinstance(obj, dict) and isinstance(obj.get("image"), str)):
            error = RecordError("malformed_json", 'expected an object with a string "image"')
        if error is not None:
            yield RawItem(source=source, error=error)
            continue
        yield RawItem(source=source, text=obj.get("text"),
                      image_path=os.path.join(root, obj["image"]),
                      char_boxes=obj.get("char_boxes"))


def read_lmdb(path: str, image_root: str | None = None,
              encoding: str = DEFAULT_ENCODING) -> Iterator[RawItem]:
    """deep-text-recognition-benchmark layout: num-samples, image-%09d, label-%09d (1-based)."""
    del image_root
    try:
        import lmdb
    except ImportError:
        raise RuntimeError("reading LMDB needs the `lmdb` package: "
                           "pip install 'textscanner-tf[lmdb]'") from None
    if not os.path.exists(path):
        raise FileNotFoundError(f"no LMDB at {path}")
    env = lmdb.open(path, readonly=True, lock=False, readahead=False, meminit=False,
                    max_readers=8)
    try:
        with env.begin(write=False) as txn:
            raw_count = txn.get(b"num-samples")
            if raw_count is None:
                raise LabelFileError(f"{path}: an LMDB without the 'num-samples' key of "
                                     "deep-text-recognition-benchmark's layout")
            for index in range(1, int(raw_count) + 1):
                image_key, label_key = b"image-%09d" % index, b"label-%09d" % index
                source = f"{path}#{image_key.decode()}"
                image, label = txn.get(image_key), txn.get(label_key)
                error = None
                if image is None:
                    error = RecordError("missing_image", f"no key {image_key.decode()}")
                elif label is None:
                    error = RecordError("bad_text", f"no key {label_key.decode()}")
                if error is None:
                    text, error = decode_line(bytes(label), encoding)
                if error is not None:
                    yield RawItem(source=source, error=error)
                    continue
                yield RawItem(source=source, text=text, image_bytes=bytes(image))
    finally:
        env.close()


def mjsynth_text(image_path: str) -> str | None:
    """The word in an MJSynth file name, `<index>_<word>_<lexicon index>.<ext>`, or None
    when the name does not have that form."""
    stem = os.path.splitext(os.path.basename(image_path))[0]
    first, _, rest = stem.partition("_")
    word, _, last = rest.rpartition("_")
    if not (first.isdigit() and last.isdigit() and word):
        return None
    return word


def icdar_fields(line: str) -> tuple[str, str] | None:
    """`word_1.png, "Tiredness"` -> (image path, text), or None for another form. In the
    text, `\\"` stands for a quote and `\\\\` for a backslash."""
    name, comma, quoted = line.partition(",")
    quoted = quoted.strip()
    if not (comma and name.strip() and len(quoted) >= 2 and quoted[0] == quoted[-1] == '"'):
        return None
    text = re.sub(r'\\(["\\])', r"\1", quoted[1:-1])
    return name.strip(), text


def read_icdar(path: str, image_root: str | None = None,
               encoding: str = DEFAULT_ENCODING) -> Iterator[RawItem]:
    """The ICDAR Robust Reading word-recognition layouts: a `gt.txt` of `word_1.png,
    "Tiredness"` lines beside the word images (2011, 2013 focused, 2015 incidental text),
    or 2003's `word.xml` (`pipelines/icdar2003.py`)."""
    if path.lower().endswith(".xml"):  # XML declares its own encoding
        yield from read_icdar2003_words(path, image_root)
        return
    root = image_root or storage.dirname(path)
    for line_no, raw in label_lines(path):
        source = f"{path}:{line_no}"
        line, error = decode_line(raw, encoding)
        fields = None if error else icdar_fields(line)
        if error is None and fields is None:
            error = RecordError("malformed_line", f'expected `<image>, "<text>"`, got {line!r}')
        if error is not None:
            yield RawItem(source=source, error=error)
            continue
        name, text = fields
        yield RawItem(source=source, text=text, image_path=os.path.join(root, name))


def read_mjsynth(path: str, image_root: str | None = None,
                 encoding: str = DEFAULT_ENCODING) -> Iterator[RawItem]:
    """MJSynth (Jaderberg et al.): an annotation file of `./2911/6/77_heretical_35885.jpg
    35885` lines, the word in each image's file name. Word images only: no character boxes
    (training learns their positions through mutual supervision)."""
    root = image_root or storage.dirname(path)
    for line_no, raw in label_lines(path):
        source = f"{path}:{line_no}"
        line, error = decode_line(raw, encoding)
        fields = line.split()
        if error is None and not (len(fields) == 1
                                  or (len(fields) == 2 and fields[1].lstrip("-").isdigit())):
            error = RecordError("malformed_line", "expected `<image path> [<lexicon index>]`, "
                                f"got {line!r}")
        text = None if error else mjsynth_text(fields[0])
        if error is None and text is None:
            error = RecordError("bad_file_name", f"{fields[0]!r} does not name its word as "
                                "<index>_<word>_<lexicon index>.<ext>")
        if error is not None:
            yield RawItem(source=source, error=error)
            continue
        rel = fields[0][2:] if fields[0].startswith("./") else fields[0]
        yield RawItem(source=source, text=text, image_path=os.path.join(root, rel))


READERS = {"tsv": read_tsv, "jsonl": read_jsonl, "lmdb": read_lmdb, "mjsynth": read_mjsynth,
           "synthtext": read_synthtext, "iiit5k": read_iiit5k, "icdar": read_icdar,
           "icdar_scenes": read_icdar_scenes, "svt": read_svt, "coco_text": read_coco_text}


# The formats whose labels are text in a file or LMDB, read in `encoding`; the XML, JSON and
# MATLAB formats carry their own.
TEXT_LABEL_FORMATS = ("tsv", "jsonl", "lmdb", "mjsynth", "icdar", "icdar_scenes")
# The formats whose one file holds several sets, of which `subset` picks one.
SUBSET_FORMATS = ("coco_text",)


def read_items(input_format: str, path: str, image_root: str | None = None,
               encoding: str = DEFAULT_ENCODING, subset: str | None = None
               ) -> Iterator[RawItem]:
    if input_format not in READERS:
        raise ValueError(f"unknown input format {input_format!r}; choose one of {INPUT_FORMATS}")
    options = {}
    if input_format in TEXT_LABEL_FORMATS:
        options["encoding"] = encoding
    if input_format in SUBSET_FORMATS:
        options["subset"] = subset
    return READERS[input_format](path, image_root, **options)

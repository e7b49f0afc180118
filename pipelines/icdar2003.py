"""ICDAR 2003's word-recognition set as distributed (Lucas et al. 2003; `Word
Recognition/TrialTest`): a `word.xml` of `<image file="word/1/1.jpg" tag="Tiredness"/>`
entries under an `<imagelist>` root, the word crops beside it. These crops are the ones
papers score as IC03 (their 860- and 867-word subsets are drawn from them)."""

from __future__ import annotations

import os
from typing import Iterator

from pipelines.validation import RawItem, RecordError
from pipelines.xml_files import load_root
from textscanner import storage


def read_icdar2003_words(path: str, image_root: str | None = None) -> Iterator[RawItem]:
    """One RawItem per `<image>` of the file, its crop relative to `image_root` (default: the
    file's folder). Records are named `<file>#<entry, from 1>:<file attribute>`."""
    root = image_root or storage.dirname(path)
    entries = load_root(path, "imagelist", "ICDAR 2003's word.xml").findall("image")
    for index, entry in enumerate(entries, 1):
        name, text = entry.get("file", "").strip(), entry.get("tag")
        source = f"{path}#{index}:{name}"
        if not name or text is None:
            missing = "file" if not name else "tag"
            yield RawItem(source=source, error=RecordError(
                "malformed_entry", f"the <image> entry has no {missing} attribute"))
            continue
        yield RawItem(source=source, text=text, image_path=os.path.join(root, name))

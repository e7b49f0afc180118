"""Reading the XML label files of the benchmarks (Street View Text, ICDAR 2003): the whole
file parsed, its root checked, and a file of another kind stopped with its name."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from pipelines.validation import LabelFileError
from textscanner import storage


# The input format that reads each benchmark's XML, by its root element.
FORMAT_BY_ROOT = {"tagset": "svt", "imagelist": "icdar"}


def load_root(path: str, root_tag: str, kind: str) -> ElementTree.Element:
    """The root element of `path`; LabelFileError naming the file when it is not well-formed
    XML or its root is not `<root_tag>` (`kind` names the layout that has that root, and the
    message names the input format that reads the root it has, if one does)."""
    with storage.open_file(path, "rb") as f:
        data = f.read()
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as e:
        raise LabelFileError(f"{path}: not well-formed XML ({e})") from None
    if root.tag != root_tag:
        other = FORMAT_BY_ROOT.get(root.tag)
        hint = f" (--input_format={other} reads that)" if other else ""
        raise LabelFileError(f"{path}: not {kind}, whose root is <{root_tag}>, "
                             f"not <{root.tag}>{hint}")
    return root

"""MATLAB label files (SynthText's gt.mat, IIIT5K's .mat files), read with scipy, an extra."""

from __future__ import annotations

from typing import Iterable

import numpy as np

from pipelines.validation import LabelFileError
from textscanner import storage


def load_mat(path: str, variable_names: Iterable[str], extra: str) -> dict[str, np.ndarray]:
    """The named variables of a .mat file; LabelFileError naming the file when scipy cannot
    read it, RuntimeError naming the extra to install when scipy is missing."""
    try:
        from scipy.io import loadmat
    except ImportError:
        raise RuntimeError(f"reading {path} needs scipy: "
                           f"pip install 'textscanner-tf[{extra}]'") from None
    with storage.open_file(path, "rb") as f:
        try:
            return loadmat(f, variable_names=list(variable_names))
        except Exception as e:  # scipy's parser fails on other bytes in many ways
            raise LabelFileError(f"{path}: not a MATLAB file scipy reads "
                                 f"({type(e).__name__}: {e})") from None

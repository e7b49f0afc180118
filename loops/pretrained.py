"""Models that ship with the project, named `pretrained:NAME` wherever a model folder or a
warm-start checkpoint is expected (`--model_dir` of evaluate/predict/export,
`--init_checkpoint` of train). Each is a folder of `textscanner/pretrained_models/`: the
model spec, the charset, a weights-only checkpoint and a model card (MODEL_CARD.md) that
says how it was trained and what it reads. TensorFlow-free: flag checks use it.
"""

from __future__ import annotations

import importlib.util
import os

__all__ = ["AUTO", "NONE", "PREFIX", "available", "resolve"]

PREFIX = "pretrained:"
# `--init_checkpoint`'s words besides a checkpoint: the shipped model that fits the run
# (`loops/warm_start.py`), and from scratch.
AUTO = "auto"
NONE = "none"


def _folder() -> str:
    spec = importlib.util.find_spec("textscanner")
    return os.path.join(spec.submodule_search_locations[0], "pretrained_models")


def available() -> list[str]:
    """Names of the shipped models."""
    folder = _folder()
    return sorted(name for name in os.listdir(folder)
                  if os.path.isfile(os.path.join(folder, name, "model_spec.json")))


def resolve(path: str) -> str:
    """`pretrained:NAME` as the folder it names; any other path unchanged. Raises
    ValueError naming the shipped models for an unknown name."""
    if not path.startswith(PREFIX):
        return path
    name = path[len(PREFIX):]
    if name not in available():
        raise ValueError(f"no pretrained model {name!r}; shipped: "
                         f"{', '.join(PREFIX + n for n in available()) or 'none'}")
    return os.path.join(_folder(), name)

"""Backbone registry: a backbone is one functional Keras model with five outputs, the
feature maps at strides 2, 4, 8, 16 and 32, that takes RGB in [0, 1].

A new backbone is one new module that calls `register`.
"""

from __future__ import annotations

import os
from typing import Callable

import keras

# builder(input_shape, weights_path_or_None) -> keras.Model
Builder = Callable[[tuple[int, int, int], "str | None"], keras.Model]
_REGISTRY: dict[str, Builder] = {}


def register(name: str):
    def wrap(builder: Builder):
        _REGISTRY[name] = builder
        return builder
    return wrap


def available() -> list[str]:
    _import_builtin()
    return sorted(_REGISTRY)


def build_backbone(name: str, input_shape: tuple[int, int, int],
                   weights: str | None = None) -> keras.Model:
    """Builds backbone `name`; `weights` is a local file (Keras .weights.h5 or legacy .h5)."""
    _import_builtin()
    if name not in _REGISTRY:
        raise ValueError(f"unknown backbone {name!r}; available: {available()}")
    if weights and not os.path.isfile(weights):
        raise FileNotFoundError(f"backbone weights file not found: {weights}")
    return _REGISTRY[name](input_shape, weights)


def load_weights_or_explain(model: keras.Model, path: str, name: str) -> None:
    """model.load_weights(path), with an error that names the file and the backbone."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"backbone weights file not found: {path}")
    try:
        model.load_weights(path)
    except Exception as e:  # Keras raises ValueError, KeyError, OSError... here
        raise ValueError(f"backbone weights {path} do not fit backbone {name!r} "
                         f"({type(e).__name__}: {str(e)[:300]})") from None


def _import_builtin() -> None:
    from textscanner.backbones import resnet50, small  # noqa: F401

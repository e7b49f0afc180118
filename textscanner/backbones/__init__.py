"""Backbone registry: a backbone is one functional Keras model with five outputs, the
feature maps at strides 2, 4, 8, 16 and 32, that takes RGB in [0, 1].

A new backbone is one new module that calls `register`: every module of this package is
imported when a backbone is looked up, and a module elsewhere (a user's, a test's) registers
its backbone when it is imported. The registration also gives the widths of the decoder and
heads that suit the backbone's scale.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import pkgutil
import warnings
from typing import Callable

import keras
import numpy as np

# builder(input_shape, weights_path_or_None, sync_batch_norm=False) -> keras.Model
Builder = Callable[..., keras.Model]


@dataclasses.dataclass(frozen=True)
class BackboneSpec:
    """A registered backbone: how to build it, and the widths of the layers on top of it
    (`ModelConfig` fields left at None take these)."""
    builder: Builder
    decoder_channels: int = 64
    output_channels: int = 32
    head_channels: int = 32
    order_channels: tuple[int, int, int] = (16, 32, 64)


_REGISTRY: dict[str, BackboneSpec] = {}


def register(name: str, **widths):
    """Decorator: registers `builder` as backbone `name`, with the widths of the layers on
    top of it (`BackboneSpec` fields; the defaults suit a small backbone)."""
    def wrap(builder: Builder):
        _REGISTRY[name] = BackboneSpec(builder, **widths)
        return builder
    return wrap


def available() -> list[str]:
    _import_builtin()
    return sorted(_REGISTRY)


def backbone_spec(name: str) -> BackboneSpec:
    _import_builtin()
    if name not in _REGISTRY:
        raise ValueError(f"unknown backbone {name!r}; available: {available()}")
    return _REGISTRY[name]


def builtin_names() -> list[str]:
    """The modules of this package, without importing them (or TensorFlow): each registers
    the backbone of its name."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def build_backbone(name: str, input_shape: tuple[int, int, int],
                   weights: str | None = None, sync_batch_norm: bool = False) -> keras.Model:
    """Builds backbone `name`; `weights` is a local file (Keras .weights.h5 or legacy .h5)."""
    spec = backbone_spec(name)
    if weights and not os.path.isfile(weights):
        raise FileNotFoundError(f"backbone weights file not found: {weights}")
    return spec.builder(input_shape, weights, sync_batch_norm=sync_batch_norm)


def load_weights_or_explain(model: keras.Model, path: str, name: str) -> None:
    """model.load_weights(path), with an error that names the file and the backbone."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"backbone weights file not found: {path}")
    # Keras only warns when part of a file matches; fill every variable with NaN first so
    # that anything the file does not provide is caught.
    originals = [v.numpy() for v in model.weights]
    for v in model.weights:
        v.assign(np.full(v.shape, np.nan, v.dtype))
    problem = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.load_weights(path)
        missing = [v.path for v in model.weights if np.isnan(v.numpy()).any()]
        if missing:
            problem = f"{len(missing)} of {len(model.weights)} variables are not in the " \
                      f"file, e.g. {missing[:3]}"
    except Exception as e:  # Keras raises ValueError, KeyError, OSError... here
        problem = f"{type(e).__name__}: {str(e)[:300]}"
    if problem:
        for v, value in zip(model.weights, originals):
            v.assign(value)
        raise ValueError(f"backbone weights {path} do not fit backbone {name!r} ({problem})")


def _import_builtin() -> None:
    for name in builtin_names():
        importlib.import_module(f"{__name__}.{name}")

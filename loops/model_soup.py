"""Averaging the weights of several models of one network and charset ("model soup";
checkpoint averaging). Runs that continue one another, such as a fine-tuned run and the model
it started from, lie in one basin of the loss, and the mean of their weights often reads better
than either (BUILD.md, the shipped model's card).
"""

from __future__ import annotations

from typing import Sequence

from loops.model_io import recognizer_from_checkpoint
from loops.recognizer import Recognizer


def average_weights(recognizer: Recognizer, model_dirs: Sequence[str]) -> None:
    """Sets every floating-point weight of `recognizer` (batch-norm statistics included) to
    the element-wise mean of its own and those of the models in `model_dirs`. Raises
    ValueError, naming the folder, for a model of another network or charset."""
    own_charset = recognizer.lookup.charset
    others = []
    for folder in model_dirs:
        other = recognizer_from_checkpoint(folder)
        if other.model.config != recognizer.model.config:
            raise ValueError(f"{folder} holds another network: {other.model.config} against "
                             f"{recognizer.model.config}")
        charset = other.lookup.charset
        if not charset.reads_like(own_charset):
            raise ValueError(f"{folder} reads another charset ({charset.name}) than "
                             f"{own_charset.name}")
        others.append(other.model)
    count = 1 + len(others)
    for k, variable in enumerate(recognizer.model.weights):
        if "float" not in str(variable.dtype):
            continue
        total = variable.value
        for other in others:
            total = total + other.weights[k].value
        variable.assign(total / count)

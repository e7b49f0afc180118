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
    average_with(recognizer, [recognizer_from_checkpoint(folder) for folder in model_dirs],
                 names=model_dirs)


def average_with(recognizer: Recognizer, others: Sequence[Recognizer],
                 names: Sequence[str] | None = None,
                 shares: Sequence[float] | None = None) -> None:
    """`average_weights` with the other models already read; `names` name them in errors.
    `shares`: each model's weight in the mean, `recognizer`'s first (default: equal); they
    must add up to 1."""
    own_charset = recognizer.lookup.charset
    for other, name in zip(others, names or [f"model {i}" for i in range(len(others))]):
        if other.model.config != recognizer.model.config:
            raise ValueError(f"{name} holds another network: {other.model.config} against "
                             f"{recognizer.model.config}")
        charset = other.lookup.charset
        if not charset.reads_like(own_charset):
            raise ValueError(f"{name} reads another charset ({charset.name}) than "
                             f"{own_charset.name}")
    count = 1 + len(others)
    shares = list(shares) if shares is not None else [1.0 / count] * count
    if len(shares) != count or abs(sum(shares) - 1.0) > 1e-6:
        raise ValueError(f"shares {shares} need one per model ({count}) adding up to 1")
    for k, variable in enumerate(recognizer.model.weights):
        if "float" not in str(variable.dtype):
            continue
        total = shares[0] * variable.value
        for share, other in zip(shares[1:], others):
            total = total + share * other.model.weights[k].value
        variable.assign(total)

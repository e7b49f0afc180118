"""Which weights a new run starts from (`--init_checkpoint`): a checkpoint, a shipped model
by name (`pretrained:NAME`), or `auto`: the shipped model whose network and charset are the
run's own, if there is one. A run with a checkpoint of its own resumes from it instead."""

from __future__ import annotations

import dataclasses

from loops import pretrained
from loops.model_io import load_spec
from textscanner.charset import Charset
from textscanner.config import ModelConfig


def _weights_layout(config: ModelConfig) -> ModelConfig:
    """What decides the weights' names and shapes: not where a backbone's initial weights
    came from, nor whether batch-norm statistics are synchronised across replicas."""
    return dataclasses.replace(config, backbone_weights=None, sync_batch_norm=False)


def shipped_model_for(model: ModelConfig, charset: Charset) -> str | None:
    """`pretrained:NAME` of the first shipped model with exactly this network (every width
    resolved, as `TextScanner.config` has them) and charset, or None."""
    for name in pretrained.available():
        spec_model, spec_charset, _, _ = load_spec(pretrained.resolve(pretrained.PREFIX + name))
        if (_weights_layout(spec_model) == _weights_layout(model)
                and spec_charset.reads_like(charset)):
            return pretrained.PREFIX + name
    return None


@dataclasses.dataclass(frozen=True)
class WarmStart:
    source: str | None  # what to restore the weights from (as the user named it), or None
    reason: str  # one line for the log


def choose(init_checkpoint: str | None, model: ModelConfig, charset: Charset) -> WarmStart:
    """The warm start of a run that has no checkpoint of its own."""
    if not init_checkpoint or init_checkpoint == pretrained.NONE:
        return WarmStart(None, "training from scratch")
    if init_checkpoint != pretrained.AUTO:
        return WarmStart(init_checkpoint, f"initialised weights from {init_checkpoint}")
    shipped = shipped_model_for(model, charset)
    if shipped is None:
        return WarmStart(None, "training from scratch: no shipped model has this run's "
                               "network and charset (--init_checkpoint=auto)")
    return WarmStart(shipped, f"initialised weights from {shipped}, the shipped model with "
                              f"this run's network and charset (--init_checkpoint=auto; "
                              f"--init_checkpoint=none trains from scratch)")

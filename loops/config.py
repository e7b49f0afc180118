"""Configs of the training and evaluation jobs (built from flags in `flags/`)."""

from __future__ import annotations

import dataclasses

from pipelines.augment import AugmentConfig
from pipelines.source_shares import DEFAULT_SHARE_RULE
from loops.options import DEFAULT_START_SHARE
from textscanner.config import DecodeConfig, LossConfig, ModelConfig


@dataclasses.dataclass(frozen=True)
class OptimizerConfig:
    learning_rate: float = 1e-3
    schedule: str = "step"  # step: the decays below; cosine: down to 0 at the run's last step
    # The rate is multiplied by `decay_factor` at each of these steps (1e-3 -> 1e-4 -> 1e-5),
    # or, when no steps are given, at these fractions of the steps the run will train (its
    # step count, or what its time budget allows, measured in its first steps).
    decay_steps: tuple[int, ...] = ()
    decay_fractions: tuple[float, ...] = (0.7, 0.9)
    decay_factor: float = 0.1
    warmup_steps: int = 0
    clip_norm: float = 0.0  # global-norm clipping of the all-replica gradient; 0: off
    weight_decay: float = 0.0  # decoupled (AdamW); 0: Adam


@dataclasses.dataclass(frozen=True)
class ClusterConfig:
    """Where --strategy=multi_worker finds its workers (loops/cluster.py)."""
    source: str = "auto"  # auto | tf_config | slurm
    port_base: int = 8888  # slurm: task i of a node listens on port_base + i
    collective: str = "auto"  # auto | ring | nccl
    start_timeout_seconds: float = 600.0  # how long a worker waits for its peers


@dataclasses.dataclass(frozen=True)
class RuntimeConfig:
    strategy: str = "default"  # default | one_device | mirrored | multi_worker
    devices: tuple[str, ...] = ()  # mirrored/one_device: explicit devices
    cpu_devices: int = 0  # split the CPU into this many logical devices (tests, CPU-only)
    mixed_precision: str = "none"  # none | float16 | bfloat16
    jit_compile: bool = False
    seed: int = 0
    cluster: ClusterConfig = ClusterConfig()


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    model_dir: str
    train_data: str
    # One weight per comma-separated glob of train_data (records drawn at these rates);
    # empty: several globs at the shares of train_data_shares (`pipelines/source_shares.py`).
    train_data_weights: tuple[float, ...] = ()
    train_data_shares: str = DEFAULT_SHARE_RULE
    eval_data: str | None = None
    charset: str = "alnum36"
    # The network; its num_classes is left at 0 and set from the charset.
    model: ModelConfig = ModelConfig()
    # Weights-only warm start of a run without a checkpoint of its own: a checkpoint,
    # pretrained:NAME, or "auto" (`loops/warm_start.py`). None: from scratch.
    init_checkpoint: str | None = None
    # When a run that started from other weights ends (not stopped by a signal or a peer),
    # also write the mean of its weights and those (`loops/start_average.py`), which
    # evaluate, predict and export read; the start's weight in it is `start_share`.
    average_with_start: bool = True
    start_share: float = DEFAULT_START_SHARE
    batch_size: int = 32  # global
    train_steps: int = 10000
    max_train_seconds: float = 0.0  # stop early (and save) after this long; 0: no limit
    steps_per_loop: int = 50  # steps per tf.function call; also the logging interval
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    image_summary_every: int = 500
    eval_every: int = 0  # 0: evaluate only at the end (when eval_data is given)
    eval_batches: int = 0  # 0: the whole eval set
    augment: AugmentConfig | None = AugmentConfig()
    keep_aspect: bool = False
    # Punctuation and symbols the charset lacks are left out of training labels, with their
    # boxes (`convert`'s rule, for records it did not write); off: such records are skipped.
    unread_symbols: bool = True
    optimizer: OptimizerConfig = OptimizerConfig()
    # Exponential moving average of the weights (evaluation, prediction and export read
    # it); 0: off. About 1 - 1 / (steps it should average over), e.g. 0.995.
    ema_decay: float = 0.0
    # A step whose loss or gradient is not finite is skipped on every replica; this many in
    # a row stop the run (`TrainingDiverged`), its last checkpoint intact. 0: never stop.
    max_nonfinite_steps: int = 20
    loss: LossConfig = LossConfig()
    decode: DecodeConfig = DecodeConfig()
    runtime: RuntimeConfig = RuntimeConfig()
    deterministic: bool = False  # deterministic input order and ops (slower)

    def model_config(self, num_classes: int) -> ModelConfig:
        """The network to build for a charset of `num_classes` classes (background included)."""
        return dataclasses.replace(self.model, num_classes=num_classes)

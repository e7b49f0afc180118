"""Plain config objects for the network, its losses and decoding (no flags here)."""

from __future__ import annotations

import dataclasses

NUM_SLOTS = 30  # N, the longest word; the order map has N + 1 channels (0 = background)


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    num_classes: int  # C + 1, background included
    backbone: str = "small"
    backbone_weights: str | None = None  # local file; nothing is ever downloaded
    num_slots: int = NUM_SLOTS
    input_height: int = 64
    input_width: int = 256
    decoder_channels: int = 64  # top-down path at strides 32..4
    output_channels: int = 32  # the stride-2 map every head reads (keep narrow: cost)
    head_channels: int = 32
    order_channels: tuple[int, int, int] = (16, 32, 64)
    bidirectional_gru: bool = False
    # Batch-norm statistics over the global batch (all replicas); our layers and the small
    # backbone only (ResNet-50 keeps Keras' own BN).
    sync_batch_norm: bool = False


@dataclasses.dataclass(frozen=True)
class LossConfig:
    class_weight: float = 1.0  # L_s
    order_weight: float = 1.0  # lambda_o (the ResNet-50 reproduction uses 10)
    loc_weight: float = 1.0  # lambda_l (the ResNet-50 reproduction uses 10)
    mutual_weight: float = 1.0  # lambda_m; acts only on samples without character boxes
    class_balance: bool = True
    mutual_gate: float = 0.2  # Q > gate selects pixels for mutual supervision
    mutual_hit_power: float = 2.0
    mutual_class_share: float = 0.2  # L_m = L_h + share * L_g


@dataclasses.dataclass(frozen=True)
class DecodeConfig:
    min_slot_mass: float = 8.0  # a slot ends the word below max(min, relative * largest)
    relative_slot_mass: float = 0.2
    min_char_score: float = 0.3  # L_score of the paper

"""Plain config objects for the network, its losses and decoding (no flags here), and the
shapes every part of the project derives from them."""

from __future__ import annotations

import dataclasses

# The one definition of each shape. N, the longest word: the order map has N + 1 channels
# (0 = background). The paper's input size. Every output map is the input / MAP_STRIDE.
NUM_SLOTS = 30
INPUT_HEIGHT = 64
INPUT_WIDTH = 256
# The input of `train`'s recipe and the demo: a quarter of the paper's pixels (and compute),
# which reads better at equal compute (BUILD.md, "The training recipe").
RECIPE_INPUT_HEIGHT = 32
RECIPE_INPUT_WIDTH = 128
MAP_STRIDE = 2
INPUT_MULTIPLE = 32  # the backbone's coarsest stride: input sides are multiples of it


def map_size(input_height: int, input_width: int) -> tuple[int, int]:
    """(h, w) of every output map for an input of `input_height x input_width`."""
    return input_height // MAP_STRIDE, input_width // MAP_STRIDE


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    num_classes: int = 0  # C + 1, background included; 0: set from the charset when built
    backbone: str = "small"
    backbone_weights: str | None = None  # local file; nothing is ever downloaded
    num_slots: int = NUM_SLOTS
    input_height: int = INPUT_HEIGHT
    input_width: int = INPUT_WIDTH
    # Widths of the top-down decoder, of the stride-2 map every head reads, of the heads and
    # of the order branch's three stride-2 convolutions. None: the backbone's own
    # (`textscanner.backbones.BackboneSpec`); the model's spec records the values used.
    decoder_channels: int | None = None
    output_channels: int | None = None
    head_channels: int | None = None
    order_channels: tuple[int, int, int] | None = None
    bidirectional_gru: bool = False
    # Batch-norm statistics over the global batch (all replicas); our layers and the small
    # backbone only (ResNet-50 keeps Keras' own BN).
    sync_batch_norm: bool = False

    @property
    def map_size(self) -> tuple[int, int]:
        return map_size(self.input_height, self.input_width)

    @property
    def input_size(self) -> tuple[int, int]:
        return self.input_height, self.input_width


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
    # A thin letter (l, i, 1) gathers a fraction of a round one's mass: at 0.2 a word's last
    # `l` fell below the threshold in some faces (`hotel` read `hote`).
    relative_slot_mass: float = 0.1
    min_char_score: float = 0.3  # L_score of the paper
    # A slot sharing more of its order map with the previous slot re-reads its character.
    max_slot_overlap: float = 0.9
    # A second reading of the image cut around the characters the first found, with this
    # margin x their height on every side; the more confident reading is kept (0: one
    # reading). Pixels whose foreground probability exceeds reread_threshold count.
    reread_margin: float = 0.4
    reread_threshold: float = 0.5

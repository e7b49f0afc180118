"""`inspect`: a PNG grid of pipeline samples with their ground-truth maps in colour."""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf
from PIL import Image, ImageDraw

from pipelines.augment import AugmentConfig
from pipelines.dataset import InputConfig, InputPipeline
from textscanner.charset import Charset
from textscanner.visualize import map_panels

_CAPTION = 14


@dataclasses.dataclass(frozen=True)
class InspectConfig:
    data: str
    output: str
    num_samples: int = 16
    augment: bool = False
    columns: int = 2
    seed: int = 0


def inspect_samples(config: InspectConfig, charset: Charset) -> dict:
    """Writes the grid to `config.output`; returns what was drawn."""
    pipeline = InputPipeline(InputConfig(
        config.data, global_batch_size=config.num_samples, is_training=config.augment,
        augment=AugmentConfig() if config.augment else None, include_strings=True,
        keep_every_record=False,  # show the records training uses; report the others
        shuffle_buffer=256, seed=config.seed, deterministic=True), charset)
    batch = next(iter(pipeline()))
    panels = map_panels(batch["image"], batch["class_map"], batch["order_map"],
                        batch["loc_map"], charset.num_classes - 1,
                        pipeline.config.max_text_length)
    panels = (tf.clip_by_value(panels, 0, 1) * 255).numpy().astype(np.uint8)
    texts = [t.decode("utf-8") for t in batch["text"].numpy()]
    boxes = batch["has_char_boxes"].numpy()
    tile_h, tile_w = panels.shape[1] + _CAPTION, panels.shape[2]
    rows = -(-len(panels) // config.columns)
    grid = Image.new("RGB", (config.columns * (tile_w + 4), rows * (tile_h + 4)), (40, 40, 40))
    draw = ImageDraw.Draw(grid)
    for i, panel in enumerate(panels):
        x, y = (i % config.columns) * (tile_w + 4), (i // config.columns) * (tile_h + 4)
        grid.paste(Image.fromarray(panel), (x, y + _CAPTION))
        caption = texts[i] + ("" if boxes[i] else "   (word label only: no maps)")
        draw.text((x + 2, y + 1), caption, fill=(255, 255, 255))
    grid.save(config.output)
    return {"output": config.output, "texts": texts, "skipped": pipeline.skipped_counts()}

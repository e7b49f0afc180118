"""FLAGS -> config dataclasses, one builder per command."""

from __future__ import annotations

from absl import app, flags

from pipelines.convert import ConvertConfig
from pipelines.synth import SynthConfig

FLAGS = flags.FLAGS


def synth_config() -> SynthConfig:
    _require("output")
    return SynthConfig(output=FLAGS.output, num_samples=FLAGS.num_samples, seed=FLAGS.seed,
                       charset=FLAGS.charset, fonts=tuple(FLAGS.font),
                       num_shards=FLAGS.num_shards, num_workers=FLAGS.num_workers,
                       min_length=FLAGS.min_length, max_length=FLAGS.max_length)


def convert_config() -> ConvertConfig:
    _require("input", "output")
    return ConvertConfig(input_format=FLAGS.input_format, input=FLAGS.input,
                         output=FLAGS.output, num_shards=FLAGS.num_shards,
                         charset=FLAGS.charset or None, image_root=FLAGS.image_root,
                         strict=FLAGS.strict, num_workers=FLAGS.num_workers)


def _require(*names: str) -> None:
    missing = [f"--{n}" for n in names if getattr(FLAGS, n) in (None, "")]
    if missing:
        raise app.UsageError(f"missing required flag(s): {', '.join(missing)}")


def save_flags(folder: str) -> str:
    """Writes the flags of this run into `folder/flags.txt` (usable as --flagfile)."""
    import os
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "flags.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write(FLAGS.flags_into_string())
    return path


def inspect_config():
    from pipelines.inspect import InspectConfig
    _require("data", "output")
    return InspectConfig(data=FLAGS.data, output=FLAGS.output, num_samples=FLAGS.num_images,
                         augment=FLAGS.augment, seed=FLAGS.seed)

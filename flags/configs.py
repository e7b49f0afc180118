"""FLAGS -> config dataclasses, one builder per command."""

from __future__ import annotations

from absl import app, flags

from pipelines.convert import ConvertConfig
from pipelines.source_shares import names_a_share_rule
from pipelines.synth import SynthConfig

FLAGS = flags.FLAGS


def synth_config() -> SynthConfig:
    _require("output")
    return SynthConfig(output=FLAGS.output, num_samples=FLAGS.num_samples, seed=FLAGS.seed,
                       charset=FLAGS.charset, fonts=tuple(FLAGS.font),
                       num_shards=FLAGS.num_shards, num_workers=FLAGS.num_workers,
                       min_length=FLAGS.min_length, max_length=FLAGS.max_length,
                       stroke_probability=FLAGS.stroke_probability,
                       max_stretch=FLAGS.max_stretch, style=FLAGS.synth_style,
                       language=FLAGS.synth_language, unread_symbols=FLAGS.unread_symbols)


def convert_config() -> ConvertConfig:
    _require("input", "output")
    return ConvertConfig(input_format=FLAGS.input_format, input=FLAGS.input,
                         output=FLAGS.output, num_shards=FLAGS.num_shards,
                         charset=FLAGS.charset or None, image_root=FLAGS.image_root,
                         strict=FLAGS.strict, num_workers=FLAGS.num_workers,
                         evaluation_set=FLAGS.evaluation_set,
                         unread_symbols=FLAGS.unread_symbols,
                         max_image_height=FLAGS.max_image_height,
                         label_encoding=FLAGS.label_encoding, subset=FLAGS.subset or None)


def _require(*names: str) -> None:
    missing = [f"--{n}" for n in names if getattr(FLAGS, n) in (None, "")]
    if missing:
        raise app.UsageError(f"missing required flag(s): {', '.join(missing)}")


def save_flags(folder: str) -> str:
    """Writes the flags of this run into `folder/flags.txt` (usable as --flagfile)."""
    import os

    from textscanner import storage
    storage.makedirs(folder)
    path = os.path.join(folder, "flags.txt")
    with storage.open_file(path, "w", encoding="utf-8") as f:
        f.write(FLAGS.flags_into_string())
    return path


def inspect_config():
    from pipelines.inspect import InspectConfig
    _require("data", "output")
    return InspectConfig(data=FLAGS.data, output=FLAGS.output, num_samples=FLAGS.num_images,
                         augment=bool(FLAGS.augment), seed=FLAGS.seed)  # default: off


def _augment(default: bool):
    from pipelines.augment import AugmentConfig
    enabled = default if FLAGS.augment is None else FLAGS.augment
    return AugmentConfig() if enabled else None


def loss_config():
    from textscanner.config import LossConfig
    weights = [float(w) for w in FLAGS.loss_weights]
    if len(weights) not in (3, 4):
        raise app.UsageError("--loss_weights takes 3 or 4 numbers: L_s, L_o, L_l[, L_m]")
    mutual = weights[3] if len(weights) == 4 else 1.0
    return LossConfig(class_weight=weights[0], order_weight=weights[1], loc_weight=weights[2],
                      mutual_weight=mutual, class_balance=FLAGS.class_balance,
                      mutual_class_share=FLAGS.mutual_class_share)


def decode_config():
    from textscanner.config import DecodeConfig
    return DecodeConfig(min_slot_mass=FLAGS.min_slot_mass,
                        relative_slot_mass=FLAGS.relative_slot_mass,
                        min_char_score=FLAGS.min_char_score,
                        max_slot_overlap=FLAGS.max_slot_overlap,
                        reread_margin=FLAGS.reread_margin)


def model_config():
    """The network the flags describe; its number of classes comes from --charset later."""
    from textscanner.config import ModelConfig
    order = FLAGS.order_channels
    return ModelConfig(
        backbone=FLAGS.backbone, backbone_weights=FLAGS.backbone_weights,
        num_slots=FLAGS.num_slots, input_height=FLAGS.input_height,
        input_width=FLAGS.input_width, decoder_channels=FLAGS.decoder_channels or None,
        output_channels=FLAGS.output_channels or None,
        head_channels=FLAGS.head_channels or None,
        order_channels=tuple(int(c) for c in order) if order else None,
        bidirectional_gru=FLAGS.bidirectional_gru, sync_batch_norm=FLAGS.sync_batch_norm)


def _init_checkpoint(value: str | None) -> str | None:
    """--init_checkpoint as TrainConfig takes it (None: from scratch)."""
    from loops import pretrained
    return None if value in (None, "", pretrained.NONE) else value


def _source_weights(values: list[str]) -> dict:
    """--train_data_weights as TrainConfig takes it: a share rule, or one weight per glob."""
    if names_a_share_rule(values):
        return {"train_data_shares": values[0]}
    return {"train_data_weights": tuple(float(w) for w in values)}


def train_config(model_dir: str | None = None, train_data: str | None = None):
    from loops.config import ClusterConfig, OptimizerConfig, RuntimeConfig, TrainConfig
    from loops.strategies import machine_precision
    model_dir = model_dir or FLAGS.model_dir
    train_data = train_data or FLAGS.train_data or FLAGS.data
    if not model_dir or not train_data:
        raise app.UsageError("train needs --model_dir and --train_data")
    return TrainConfig(
        model_dir=model_dir, train_data=train_data,
        **_source_weights(FLAGS.train_data_weights),
        eval_data=FLAGS.eval_data,
        charset=FLAGS.charset, model=model_config(),
        init_checkpoint=_init_checkpoint(FLAGS.init_checkpoint),
        average_with_start=FLAGS.average_with_start,
        start_share=FLAGS.start_share,
        batch_size=FLAGS.batch_size, train_steps=FLAGS.train_steps,
        max_train_seconds=60 * FLAGS.max_train_minutes, steps_per_loop=FLAGS.steps_per_loop,
        checkpoint_every=FLAGS.checkpoint_every, keep_checkpoints=FLAGS.keep_checkpoints,
        image_summary_every=FLAGS.image_summary_every, eval_every=FLAGS.eval_every,
        eval_batches=FLAGS.eval_batches, augment=_augment(default=True),
        keep_aspect=FLAGS.keep_aspect, unread_symbols=FLAGS.unread_symbols,
        optimizer=OptimizerConfig(
            learning_rate=FLAGS.learning_rate, schedule=FLAGS.lr_schedule,
            decay_steps=tuple(int(s) for s in FLAGS.lr_decay_steps),
            decay_fractions=tuple(float(f) for f in FLAGS.lr_decay_fractions),
            decay_factor=FLAGS.lr_decay_factor, warmup_steps=FLAGS.warmup_steps,
            clip_norm=FLAGS.clip_norm, weight_decay=FLAGS.weight_decay),
        ema_decay=FLAGS.ema_decay, max_nonfinite_steps=FLAGS.max_nonfinite_steps,
        loss=loss_config(), decode=decode_config(),
        runtime=RuntimeConfig(strategy=FLAGS.strategy, devices=tuple(FLAGS.devices),
                              cpu_devices=FLAGS.cpu_devices,
                              mixed_precision=machine_precision(FLAGS.mixed_precision),
                              jit_compile=FLAGS.jit_compile, seed=FLAGS.seed,
                              cluster=ClusterConfig(
                                  source=FLAGS.cluster, port_base=FLAGS.slurm_port_base,
                                  collective=FLAGS.collective,
                                  start_timeout_seconds=FLAGS.cluster_start_timeout)),
        deterministic=FLAGS.deterministic)


def input_benchmark_config():
    from pipelines.benchmark import InputBenchmarkConfig
    _require("data")
    return InputBenchmarkConfig(data=FLAGS.data, batch_size=FLAGS.batch_size,
                                steps=FLAGS.steps, augment=bool(FLAGS.augment))


def demo_config():
    from loops.demo import DemoConfig
    return DemoConfig(workdir=FLAGS.workdir, max_train_minutes=FLAGS.demo_minutes,
                      max_train_tflops=FLAGS.demo_max_tflops,
                      train_samples=FLAGS.demo_train_samples,
                      train_steps=FLAGS.demo_train_steps, seed=FLAGS.seed)

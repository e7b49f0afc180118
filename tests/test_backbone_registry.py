"""Backbones are one module each, with their own head widths in the model spec; every field of
ModelConfig is a flag."""

import dataclasses

from textscanner.config import ModelConfig


def test_a_backbone_registered_from_another_module_trains_and_is_recorded(tmp_path):
    from loops.config import TrainConfig
    from loops.model_io import load_spec
    from loops.trainer import Trainer
    from pipelines.synth import SynthConfig, write_synth
    from tests import tiny_backbone
    from textscanner.backbones import available
    assert tiny_backbone.NAME in available()
    write_synth(SynthConfig(output=str(tmp_path / "data" / "w"), num_samples=8, num_shards=1,
                            num_workers=1, max_length=4))
    model = ModelConfig(backbone=tiny_backbone.NAME, input_height=32, input_width=128)
    trainer = Trainer(TrainConfig(model_dir=str(tmp_path / "m"),
                                  train_data=str(tmp_path / "data" / "w-*"), batch_size=2,
                                  model=model, train_steps=2, steps_per_loop=2, augment=None,
                                  image_summary_every=0))
    assert trainer.train()["step"] == 2
    built = trainer.runner.model
    assert built.backbone.name == "tiny_backbone"
    assert built.decoder.reduce.filters == tiny_backbone.WIDTHS["output_channels"]
    assert built.class_head.conv.filters == tiny_backbone.WIDTHS["head_channels"]
    spec, _, _, _ = load_spec(str(tmp_path / "m"))
    for name, width in tiny_backbone.WIDTHS.items():
        assert getattr(spec, name) == width, name


def test_resnet50_heads_are_wider_than_the_small_models_and_explicit_widths_win():
    from textscanner.model import with_backbone_widths
    small = with_backbone_widths(ModelConfig(backbone="small"))
    resnet = with_backbone_widths(ModelConfig(backbone="resnet50"))
    for name in ("decoder_channels", "output_channels", "head_channels"):
        assert getattr(resnet, name) > getattr(small, name), name
    assert resnet.order_channels > small.order_channels
    assert with_backbone_widths(ModelConfig(backbone="resnet50", head_channels=24)
                                ).head_channels == 24


def test_every_model_field_is_a_flag_that_reaches_the_train_config(tmp_path):
    from absl import flags as absl_flags

    import flags.definitions  # noqa: F401  (defines the flags)
    from flags import configs
    values = {"backbone": "resnet50", "backbone_weights": None, "num_slots": 20,
              "input_height": 32, "input_width": 160, "decoder_channels": 48,
              "output_channels": 24, "head_channels": 40, "order_channels": (8, 16, 24),
              "bidirectional_gru": True, "sync_batch_norm": True}
    fields = {f.name for f in dataclasses.fields(ModelConfig)} - {"num_classes"}
    assert fields == set(values)  # a new ModelConfig field needs a flag and a line here
    argv = ["main.py", "--backbone=resnet50", "--num_slots=20", "--input_height=32",
            "--input_width=160", "--decoder_channels=48", "--output_channels=24",
            "--head_channels=40", "--order_channels=8,16,24", "--bidirectional_gru",
            "--sync_batch_norm"]
    FLAGS = absl_flags.FLAGS
    FLAGS(argv)
    try:
        model = configs.train_config(str(tmp_path), "data-*").model
    finally:
        FLAGS.unparse_flags()
    assert dataclasses.asdict(model) == {**values, "num_classes": 0}


def test_the_longest_word_is_the_models_slots():
    from pipelines.dataset import InputConfig
    config = InputConfig.for_model(ModelConfig(num_slots=12, input_height=32,
                                               input_width=96), "x-*")
    assert (config.max_text_length, config.image_height, config.image_width) == (12, 32, 96)


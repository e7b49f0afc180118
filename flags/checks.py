"""Checks on flag values that absl's bounds and enums cannot express: lists, files, globs.

Registered as absl validators, so they run when the command line is parsed, before TensorFlow
starts; a failing one ends the run with one line naming the flag and the rule (see
`parse_command_line`). Each check raises `flags.ValidationError` with the rule it enforces.
"""

from __future__ import annotations

import codecs
import importlib.util
import os
import pkgutil
import shutil
import sys

from absl import flags

from loops import pretrained
from pipelines import fonts
from pipelines.source_shares import SHARE_RULES, names_a_share_rule
from pipelines.sources import SUBSET_FORMATS
from pipelines.tfrecord_files import NotATFRecordFile, expand_patterns
from textscanner import storage
from textscanner.charset import NAMED_CHARSETS, load_charset
from textscanner.config import INPUT_MULTIPLE

FLAGS = flags.FLAGS
USAGE_ERROR_STATUS = 2  # absl's (and the shell's) convention for a usage error


def parse_command_line(argv: list[str]) -> list[str]:
    """absl's parser, with flag errors reported as one line and exit status 2."""
    try:
        return FLAGS(argv)
    except flags.Error as e:
        print(f"{os.path.basename(argv[0])}: error: {e}", file=sys.stderr)
        sys.exit(USAGE_ERROR_STATUS)


def _check(flag: str, check) -> None:
    def validator(value) -> bool:
        if value is None or value == "" or value == []:
            return True
        try:
            check(value)
        except flags.ValidationError:
            raise
        except (ValueError, OSError) as e:
            raise flags.ValidationError(str(e)) from None
        return True
    flags.register_validator(flag, validator)


def _numbers(values: list[str], kind, name: str) -> list:
    try:
        return [kind(v) for v in values]
    except ValueError:
        raise flags.ValidationError(f"takes comma-separated {name}, got {','.join(values)!r}")


def check_encoding(name: str) -> None:
    try:
        codecs.lookup(name)
    except LookupError:
        raise flags.ValidationError(f"{name!r} is not a text encoding Python knows (utf-8, "
                                    "gbk, latin-1, cp1252, shift_jis, ...)") from None


def check_loss_weights(values: list[str]) -> None:
    weights = _numbers(values, float, "numbers")
    if len(weights) not in (3, 4):
        raise flags.ValidationError(f"takes 3 or 4 numbers (L_s, L_o, L_l[, L_m]), got "
                                    f"{len(weights)}")
    if any(not w >= 0 for w in weights) or not any(weights):
        raise flags.ValidationError("weights must be >= 0 and not all 0")


def check_decay_steps(values: list[str]) -> None:
    steps = _numbers(values, int, "whole numbers")
    if any(s < 1 for s in steps) or steps != sorted(set(steps)):
        raise flags.ValidationError(f"steps must be >= 1 and increasing, got {steps}")


def backbone_names() -> list[str]:
    """The backbones `textscanner/backbones` holds (one module each), found without importing
    them: they import TensorFlow, and checks run before it loads."""
    spec = importlib.util.find_spec("textscanner.backbones")
    return sorted(m.name for m in pkgutil.iter_modules(spec.submodule_search_locations)
                  if not m.name.startswith("_"))


def check_backbone(name: str) -> None:
    if name not in backbone_names():
        raise flags.ValidationError(f"unknown backbone {name!r}; textscanner/backbones has "
                                    f"{', '.join(backbone_names())}")


def check_order_channels(values: list[str]) -> None:
    widths = _numbers(values, int, "integers")
    if widths and (len(widths) != 3 or min(widths) < 1):
        raise flags.ValidationError(f"takes 3 positive integers, got {','.join(values)!r}")


def check_input_side(pixels: int) -> None:
    if pixels % INPUT_MULTIPLE:
        raise flags.ValidationError(f"must be a multiple of {INPUT_MULTIPLE}, got {pixels}")


def check_decay_fractions(values: list[str]) -> None:
    fractions = _numbers(values, float, "numbers")
    if any(not 0 < f < 1 for f in fractions) or fractions != sorted(set(fractions)):
        raise flags.ValidationError(f"fractions must lie in (0, 1) and increase, got "
                                    f"{fractions}")


def check_charset(spec: str) -> None:
    if spec not in NAMED_CHARSETS and not storage.isfile(spec):
        raise flags.ValidationError(f"{spec!r} is neither a named set {list(NAMED_CHARSETS)} "
                                    f"nor an existing file")
    load_charset(spec)  # a file must also parse: one character per line, UTF-8


def check_existing_path(path: str) -> None:
    if not storage.exists(path):
        raise flags.ValidationError(f"{path} does not exist")


def check_fonts(specs: list[str]) -> None:
    for spec in specs:
        if spec == fonts.SYSTEM_FONTS:
            if shutil.which("fc-list") is None:
                raise flags.ValidationError("system fonts are listed by fontconfig's fc-list, "
                                            "which is not installed (apt-get install fontconfig)")
        elif spec != fonts.DEFAULT_FONTS and not os.path.exists(spec):
            raise flags.ValidationError(f"{spec} is neither a font file, a folder, "
                                        f"{fonts.DEFAULT_FONTS!r} nor {fonts.SYSTEM_FONTS!r}")


def check_init_checkpoint(value: str) -> None:
    if value not in (pretrained.AUTO, pretrained.NONE):
        check_checkpoint(value)


def check_checkpoint(path: str) -> None:
    path = pretrained.resolve(path)
    if not (storage.isdir(path) or storage.glob(path + ".index")):
        raise flags.ValidationError(f"{path} is neither a folder nor a checkpoint (no "
                                    f"{path}.index)")


def check_model_folders(paths: list[str]) -> None:
    for path in paths:
        if not storage.isdir(pretrained.resolve(path)):
            raise flags.ValidationError(f"{path} is not a model folder")


def check_saved_model(path: str) -> None:
    if not storage.isfile(os.path.join(path, "saved_model.pb")):
        raise flags.ValidationError(f"{path} is not a SavedModel folder (no saved_model.pb)")


def check_record_globs(value: str) -> None:
    """Comma-separated globs (each optionally NAME=GLOB) that match TFRecord files."""
    for entry in value.split(","):
        pattern = entry.rpartition("=")[2]
        if not pattern:
            raise flags.ValidationError(f"empty glob in {value!r}")
        try:
            expand_patterns(pattern)
        except FileNotFoundError:
            raise flags.ValidationError(f"no files match {pattern!r}") from None
        except NotATFRecordFile as e:
            raise flags.ValidationError(str(e)) from None


def check_source_weights(values: list[str]) -> None:
    if names_a_share_rule(values):
        return
    try:
        weights = [float(v) for v in values]
    except ValueError:
        raise flags.ValidationError(f"takes one of {', '.join(SHARE_RULES)} or comma-separated "
                                    f"numbers, got {','.join(values)!r}") from None
    if any(not w > 0 for w in weights):
        raise flags.ValidationError(f"weights must be > 0, got {','.join(values)}")


def check_one_weight_per_glob(values: dict) -> bool:
    weights, globs = values["train_data_weights"], values["train_data"]
    count = len([p for p in (globs or "").split(",") if p])
    if weights and not names_a_share_rule(weights) and len(weights) != count:
        raise flags.ValidationError(f"--train_data_weights has {len(weights)} weight(s) for "
                                    f"{count} --train_data glob(s)")
    return True


def check_pseudo_boxes_for_training(values: dict) -> bool:
    if values["pseudo_boxes_from"] and values["evaluation_set"]:
        raise flags.ValidationError("--pseudo_boxes_from is for training sets: evaluation "
                                    "reads no boxes")
    return True


def check_subset_format(values: dict) -> bool:
    if values["subset"] and values["input_format"] not in SUBSET_FORMATS:
        raise flags.ValidationError(f"--subset picks a set of a file that holds several "
                                    f"({', '.join(SUBSET_FORMATS)}), not of "
                                    f"--input_format={values['input_format']}")
    return True


def check_lengths(values: dict) -> bool:
    if values["min_length"] > values["max_length"]:
        raise flags.ValidationError(f"--min_length={values['min_length']} is more than "
                                    f"--max_length={values['max_length']}")
    return True


def register() -> None:
    """Registers every check; called once, where the flags are defined."""
    _check("loss_weights", check_loss_weights)
    _check("lr_decay_steps", check_decay_steps)
    _check("lr_decay_fractions", check_decay_fractions)
    _check("backbone", check_backbone)
    _check("order_channels", check_order_channels)
    _check("input_height", check_input_side)
    _check("input_width", check_input_side)
    _check("charset", check_charset)
    _check("input", check_existing_path)
    _check("image_root", check_existing_path)
    _check("label_encoding", check_encoding)
    _check("font", check_fonts)
    _check("backbone_weights", check_existing_path)
    _check("init_checkpoint", check_init_checkpoint)
    _check("checkpoint", check_checkpoint)
    _check("average_with", check_model_folders)
    _check("pseudo_boxes_from", lambda path: check_model_folders([path]))
    flags.register_multi_flags_validator(["pseudo_boxes_from", "evaluation_set"],
                                         check_pseudo_boxes_for_training)
    _check("saved_model", check_saved_model)
    for name in ("data", "train_data", "eval_data"):
        _check(name, check_record_globs)
    _check("train_data_weights", check_source_weights)
    flags.register_multi_flags_validator(["subset", "input_format"], check_subset_format)
    flags.register_multi_flags_validator(["min_length", "max_length"], check_lengths)
    flags.register_multi_flags_validator(["train_data", "train_data_weights"],
                                         check_one_weight_per_glob)
    flags.register_validator("learning_rate", lambda rate: rate > 0,
                             message="the learning rate must be > 0")

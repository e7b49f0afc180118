"""TextScanner-TF command line: `python main.py COMMAND [--flags]`.

Commands: synth, convert, inspect, train, evaluate, predict, export, benchmark, demo.
`python main.py --helpfull` lists every flag; `--flagfile=FILE` works everywhere.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
from typing import Callable

from absl import app
from absl import flags as absl_flags
from absl import logging as absl_logging

import flags.definitions  # noqa: F401  (defines the flags)
from flags import checks
from loops import cpu
from loops import lean_imports

FLAGS = absl_flags.FLAGS
# `train` exits with this when too many steps in a row were not finite (--max_nonfinite_steps).
DIVERGED_STATUS = 3
# `train` stopped by SIGTERM (on this worker or another) or SIGINT exits 128 + the signal
# (143, 130) after saving a checkpoint at the step it reached: run it again to resume.


def cmd_synth(args: list[str]) -> int:
    from flags import configs
    from pipelines.synth import write_synth
    config = configs.synth_config()
    configs.save_flags(os.path.dirname(os.path.abspath(config.output)))
    try:
        report = write_synth(config)
    except (ValueError, FileNotFoundError) as e:  # its settings: fonts, style, language
        print(f"main.py synth: error: {e}", file=sys.stderr)
        return 1
    print(report.summary())
    return 0 if report.written else 1


def cmd_convert(args: list[str]) -> int:
    from flags import configs
    from pipelines.convert import convert, exit_code
    config = configs.convert_config()
    configs.save_flags(os.path.dirname(os.path.abspath(config.output)))
    boxer = None
    if FLAGS.pseudo_boxes_from:
        from loops.pseudo_labeller import PseudoBoxer
        boxer = PseudoBoxer(FLAGS.pseudo_boxes_from)
    report = convert(config, boxer)
    print(report.summary())
    print(f"report: {config.output}.report.json")
    return exit_code(report, config.strict)


def cmd_inspect(args: list[str]) -> int:
    from flags import configs
    from pipelines.inspect import inspect_samples
    from textscanner.charset import load_charset
    result = inspect_samples(configs.inspect_config(), load_charset(FLAGS.charset))
    print(f"wrote {result['output']} ({len(result['texts'])} samples)")
    if result["skipped"]:
        print(f"skipped records: {result['skipped']}")
    return 0


def cmd_train(args: list[str]) -> int:
    from flags import configs
    from loops.cluster import PEER_LOST_STATUS, PeersUnreachable
    from loops.controller import PeerLost, TrainingDiverged
    from loops.trainer import Trainer
    config = configs.train_config()
    try:
        trainer = Trainer(config)
    except PeersUnreachable as e:
        print(f"main.py train: {e}", file=sys.stderr)
        return PEER_LOST_STATUS
    if trainer.chief:
        configs.save_flags(config.model_dir)
    try:
        result = trainer.train()
    except TrainingDiverged as e:
        print(f"main.py train: {e}", file=sys.stderr)
        return DIVERGED_STATUS
    except PeerLost as e:
        print(f"main.py train: {e}", file=sys.stderr)
        return PEER_LOST_STATUS
    print(json.dumps(result))
    return _stopped_status(result.get("stopped_by"))


def _stopped_status(stopped_by: str | None) -> int:
    from loops.stop_request import exit_status
    if stopped_by is None:
        return 0
    signum = signal.SIGINT if stopped_by == "SIGINT" else signal.SIGTERM
    return exit_status(signum)


def _recognizer():
    """A recognizer from --model_dir (checkpoint, or pretrained:NAME) for evaluate/predict/
    export."""
    from flags import configs
    from loops import pretrained
    from loops.model_io import recognizer_from_checkpoint
    if not FLAGS.model_dir:
        raise app.UsageError("give --model_dir (a training folder) or --saved_model")
    from textscanner import storage
    try:
        model_dir = pretrained.resolve(FLAGS.model_dir)
    except ValueError as e:
        raise app.UsageError(f"--model_dir: {e}") from None
    if not storage.isdir(model_dir):
        raise app.UsageError(f"--model_dir={FLAGS.model_dir} is not a folder")
    decode = configs.decode_config() if _decode_flags_given() else None
    return recognizer_from_checkpoint(model_dir, FLAGS.checkpoint, decode,
                                      average_with_start=FLAGS.average_with_start)


def _decode_flags_given() -> bool:
    return any(FLAGS[name].present for name in
               ("min_slot_mass", "relative_slot_mass", "min_char_score", "max_slot_overlap",
                "reread_margin"))


def cmd_evaluate(args: list[str]) -> int:
    from loops.evaluation import (ReadingsTable, combined, evaluate_dataset, format_samples,
                                  format_table)
    from textscanner import storage
    if not FLAGS.data:
        raise app.UsageError("evaluate needs --data: GLOB or NAME=GLOB, comma-separated sets")
    if FLAGS.saved_model:
        from loops.model_io import SavedModelReader
        reader = SavedModelReader(FLAGS.saved_model)
        charset, keep_aspect = reader.charset, reader.keep_aspect
    else:
        reader = _recognizer()
        charset, keep_aspect = reader.lookup.charset, reader.keep_aspect
    results, evaluated = {}, []
    with contextlib.ExitStack() as stack:
        readings = None
        if FLAGS.predictions_tsv:
            readings = ReadingsTable(stack.enter_context(
                storage.open_file(FLAGS.predictions_tsv, "w")))
        for entry in FLAGS.data.split(","):
            name, _, pattern = entry.rpartition("=")
            name = name or pattern
            result = evaluate_dataset(
                reader, pattern, charset, batch_size=FLAGS.batch_size, keep_aspect=keep_aspect,
                on_reading=readings.writer_for(name) if readings else None)
            evaluated.append(result)
            results[name] = result.to_json()
            print(format_table(name, results[name]))
            print(format_samples(result.samples))
    if len(results) > 1:
        results["total"] = combined(evaluated)
        print(format_table("total (pooled over the sets)", results["total"]))
    output = results if len(results) > 1 else next(iter(results.values()))
    if FLAGS.metrics_json:
        with storage.open_file(FLAGS.metrics_json, "w") as f:
            json.dump(output, f, indent=1)
    return 0


def cmd_predict(args: list[str]) -> int:
    from loops.model_io import SavedModelReader
    from loops.predict import expand_paths, predict_files
    if not args:
        raise app.UsageError("predict takes image paths or globs as arguments")
    reader = SavedModelReader(FLAGS.saved_model) if FLAGS.saved_model else _recognizer()
    failures = 0
    for path, text, confidence in predict_files(reader, expand_paths(args), FLAGS.batch_size):
        if confidence is None:
            failures += 1
            print(f"{path}: {text}", file=sys.stderr)
        else:
            print(f"{path}\t{text}\t{confidence:.4f}")
    return 1 if failures else 0


def _average_with(recognizer, folders: list[str]) -> None:
    """--average_with: the mean of the model's weights and those of `folders`."""
    from loops import pretrained
    from loops.model_soup import average_weights
    try:
        average_weights(recognizer, [pretrained.resolve(f) for f in folders])
    except (ValueError, FileNotFoundError) as e:
        raise app.UsageError(f"--average_with: {e}") from None
    print(f"averaged the weights of {FLAGS.model_dir} and {', '.join(folders)}")


def cmd_export(args: list[str]) -> int:
    from loops.model_io import export_saved_model, export_weights
    if not FLAGS.export_dir:
        raise app.UsageError("export needs --export_dir")
    recognizer = _recognizer()
    if FLAGS.average_with:
        _average_with(recognizer, FLAGS.average_with)
    if FLAGS.weights_only:
        path = export_weights(recognizer, FLAGS.export_dir)
        print(f"exported the weights to {path}: a model folder for --model_dir and "
              f"--init_checkpoint")
        return 0
    path = export_saved_model(recognizer, FLAGS.export_dir)
    print(f"exported SavedModel to {path} (serving_default: encoded images -> text, "
          f"confidence)")
    return 0


def cmd_benchmark(args: list[str]) -> int:
    from flags import configs
    from textscanner.charset import load_charset
    if FLAGS.what == "input":
        from pipelines.benchmark import benchmark_input
        result = benchmark_input(configs.input_benchmark_config(), load_charset(FLAGS.charset))
    elif FLAGS.benchmark_mode:
        from loops.benchmark_train import measure
        config = configs.train_config(model_dir=FLAGS.model_dir, train_data=FLAGS.data)
        rate = measure(config, FLAGS.benchmark_mode, FLAGS.steps)
        result = {"mode": FLAGS.benchmark_mode, "images_per_second": rate}
    else:
        from loops.benchmark_train import benchmark_train
        if not FLAGS.data:
            raise app.UsageError("benchmark --what=train needs --data")
        base = [sys.executable, os.path.abspath(sys.argv[0])] + sys.argv[1:]
        config = configs.train_config(model_dir="unused", train_data=FLAGS.data)
        result = benchmark_train(base, config, FLAGS.steps)
        print(f"train step at {result['input_size'][0]}x{result['input_size'][1]}, "
              f"{result['precision']}: {result['images_per_second']} img/s x "
              f"{result['train_gflop_per_image']} GFLOP/img = {result['achieved_gflops']} "
              f"GFLOP/s, {100 * result['fraction_of_peak']:.0f}% of this machine's float32 "
              f"matmul peak ({result['matmul_peak_gflops']} GFLOP/s)")
    print(json.dumps(result))
    return 0


def cmd_demo(args: list[str]) -> int:
    from flags import configs
    from loops.demo import run_demo
    config = configs.demo_config()
    metrics = run_demo(config)
    print(json.dumps(metrics))
    print(f"demo: word accuracy {100 * metrics['word_accuracy']:.1f}% on "
          f"{metrics['num_samples']} held-out synthetic words after "
          f"{metrics['steps']} steps ({metrics['train_tflops']:.1f} TFLOP, "
          f"{metrics['train_seconds'] / 60:.1f} min) of training "
          f"({metrics['total_seconds'] / 60:.1f} min in all); TensorBoard: "
          f"tensorboard --logdir {os.path.join(config.workdir, 'model')}")
    return 0


# Flags each command needs (one of each group), checked before TensorFlow starts.
REQUIRED: dict[str, list[tuple[str, ...]]] = {
    "synth": [("output",)],
    "convert": [("input",), ("output",)],
    "inspect": [("data",), ("output",)],
    "train": [("model_dir",), ("train_data", "data")],
    "evaluate": [("data",), ("model_dir", "saved_model")],
    "predict": [("model_dir", "saved_model")],
    "export": [("model_dir",), ("export_dir",)],
    "benchmark": [("data",)],
    "demo": [],
}


def _missing_flags(command: str) -> list[str]:
    return [" or ".join(f"--{name}" for name in group) for group in REQUIRED[command]
            if all(FLAGS[name].value in (None, "") for name in group)]


COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "synth": cmd_synth,
    "convert": cmd_convert,
    "inspect": cmd_inspect,
    "train": cmd_train,
    "evaluate": cmd_evaluate,
    "predict": cmd_predict,
    "export": cmd_export,
    "benchmark": cmd_benchmark,
    "demo": cmd_demo,
}


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] not in COMMANDS:
        given = f"unknown command {argv[1]!r}" if len(argv) >= 2 else "no command given"
        return _usage_error(f"{given}; usage: python main.py COMMAND [--flags], "
                            f"COMMAND one of: {', '.join(COMMANDS)}")
    missing = _missing_flags(argv[1])
    if missing:
        return _usage_error(f"{argv[1]} needs {', '.join(missing)}")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    absl_logging.set_verbosity(absl_logging.INFO)
    from pipelines.parallel import WorkerError
    from pipelines.validation import LabelFileError
    try:
        return COMMANDS[argv[1]](argv[2:])
    except app.UsageError as e:
        return _usage_error(f"{argv[1]}: {e}")
    except (WorkerError, LabelFileError) as e:  # names the record or file, and the cause
        print(f"main.py {argv[1]}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"main.py {argv[1]}: interrupted; nothing half-written was kept", file=sys.stderr)
        return 130


def _usage_error(message: str) -> int:
    """One line on stderr and absl's usage-error status; `--helpfull` lists every flag."""
    print(f"main.py: error: {message} (python main.py --helpfull lists every flag)",
          file=sys.stderr)
    return checks.USAGE_ERROR_STATUS


def run() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    cpu.enable_onednn(cpu.cpu_flags())  # before any TensorFlow import
    lean_imports.keep_unused_packages_out()
    app.run(main, flags_parser=checks.parse_command_line)


if __name__ == "__main__":
    run()

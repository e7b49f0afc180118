"""TextScanner-TF command line: `python main.py COMMAND [--flags]`.

Commands: synth, convert, inspect, train, evaluate, predict, export, benchmark, demo.
`python main.py --helpfull` lists every flag; `--flagfile=FILE` works everywhere.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Callable

from absl import app
from absl import flags as absl_flags
from absl import logging as absl_logging

import flags.definitions  # noqa: F401  (defines the flags)

FLAGS = absl_flags.FLAGS


def cmd_synth(args: list[str]) -> int:
    from flags import configs
    from pipelines.synth import write_synth
    config = configs.synth_config()
    configs.save_flags(os.path.dirname(os.path.abspath(config.output)))
    report = write_synth(config)
    print(report.summary())
    return 0 if report.written else 1


def cmd_convert(args: list[str]) -> int:
    from flags import configs
    from pipelines.convert import convert, exit_code
    config = configs.convert_config()
    configs.save_flags(os.path.dirname(os.path.abspath(config.output)))
    report = convert(config)
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


COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "synth": cmd_synth,
    "convert": cmd_convert,
    "inspect": cmd_inspect,
}


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] not in COMMANDS:
        given = f"unknown command {argv[1]!r}" if len(argv) >= 2 else "no command given"
        raise app.UsageError(f"{given}; usage: python main.py COMMAND [--flags], "
                             f"COMMAND one of: {', '.join(COMMANDS)}")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    absl_logging.set_verbosity(absl_logging.INFO)
    return COMMANDS[argv[1]](argv[2:])


def run() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    app.run(main)


if __name__ == "__main__":
    run()

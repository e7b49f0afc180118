"""Imported once, by the server from which tests/cli.py forks each `main.py` run: the start
that every such run shares.

Importing TensorFlow is most of a short `main.py` run's start-up, and the suite has dozens
of such runs (BUILD.md, "The test suite's time" has the numbers). So tests/cli.py forks
each run from a server (multiprocessing's forkserver) that has imported this module. Each run
is still a process of its own, running `main.py` as `python main.py ...` would: its own
TensorFlow runtime (started in the child, never in the server), flags, signal handlers, exit
status and output. Only the import is shared, so runs whose environment changes what
TensorFlow reads at its import get a fresh interpreter (`tests.cli.IMPORT_TIME_VARIABLES`).
Never imported by the tests themselves: its import changes the process.
"""

import main  # noqa: F401  (TensorFlow-free: its flags, checks and imports)
from loops import cpu, lean_imports

# What `main.run()` does before TensorFlow loads, in the environment the server started in.
cpu.enable_onednn(cpu.cpu_flags())
lean_imports.keep_unused_packages_out()
import tensorflow  # noqa: E402,F401

"""Running `main.py` in real processes from tests.

`run_main` and `start_main` fork each run from a server that has already imported TensorFlow
(tests/preloaded_main.py says what is shared and what is not); `main_cmd` is the command line
of a fresh interpreter, for runs that need one.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import weakref

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAIN = os.path.join(ROOT, "main.py")


def env(**extra: str) -> dict[str, str]:
    out = dict(os.environ)
    out.update({"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": ROOT}, **extra)
    return out


def main_cmd(*args: str) -> list[str]:
    return [sys.executable, MAIN, *args]


# What TensorFlow (or the project, before it loads TensorFlow) reads at its import: a run
# whose environment differs from the server's in one of these gets a fresh interpreter.
IMPORT_TIME_VARIABLES = ("TF_ENABLE_ONEDNN_OPTS", "ONEDNN_MAX_CPU_ISA", "TF_CPP_MIN_LOG_LEVEL",
                         "TEXTSCANNER_HIDE_CPU_FLAGS", "CUDA_VISIBLE_DEVICES")
_PRELOADED = multiprocessing.get_context("forkserver")
_server_environment: dict[str, str | None] | None = None


def _preloaded_server_environment() -> dict[str, str | None]:
    """Starts this test process's forkserver (once), with tests/preloaded_main.py imported,
    in the runs' environment; returns the import-time variables it started with."""
    global _server_environment
    if _server_environment is None:
        runs = env()
        multiprocessing.forkserver.set_forkserver_preload(["tests.preloaded_main"])
        saved = dict(os.environ)
        os.environ.update({k: runs[k] for k in ("PYTHONPATH", "TF_CPP_MIN_LOG_LEVEL")})
        try:
            multiprocessing.forkserver.ensure_running()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        _server_environment = {k: runs.get(k) for k in IMPORT_TIME_VARIABLES}
    return _server_environment


def _run_in_child(args: list[str], environ: dict[str, str], cwd: str, stdout_path: str,
                  stderr_path: str) -> None:
    """In the forked child: `python main.py *args` with this environment and folder, its
    output written to the two files. Its exit status is main.py's (SystemExit). The child
    ends as multiprocessing's children do: threads joined and standard streams flushed, but
    no atexit handlers (stricter than an interpreter's exit: whatever main.py leaves
    unflushed or unclosed is lost, and a test sees it)."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(environ)
    sys.stdout.flush()
    sys.stderr.flush()
    for fd, path, mode in ((0, os.devnull, os.O_RDONLY),
                           (1, stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                           (2, stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
        opened = os.open(path, mode)
        os.dup2(opened, fd)
        os.close(opened)
    # A fresh interpreter's handlers (the server ignores SIGINT).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sys.argv = [MAIN, *args]
    runpy.run_path(MAIN, run_name="__main__")


class MainProcess:
    """`python main.py ARGS` as a process forked from the preloaded server: the parts of
    `subprocess.Popen` that the tests use. Output goes to files, read when it has ended."""

    def __init__(self, args: tuple[str, ...], environ: dict[str, str]):
        self.args = ["main.py", *args]
        self._folder = tempfile.mkdtemp(prefix="main_process_")
        weakref.finalize(self, shutil.rmtree, self._folder, True)
        self._paths = [os.path.join(self._folder, name) for name in ("stdout", "stderr")]
        self._process = _PRELOADED.Process(
            target=_run_in_child, name="main.py",
            args=(list(args), environ, os.getcwd(), *self._paths))
        self._process.start()
        self.pid = self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self._process.kill()

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired(self.args, timeout)
        return self.returncode

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        """Waits for the end (killing the process if it outlives `timeout`) and returns its
        stdout and stderr."""
        try:
            self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            self._process.join()
            raise
        outputs = []
        for path in self._paths:
            with open(path, encoding="utf-8", errors="replace") as f:
                outputs.append(f.read())
        return outputs[0], outputs[1]


def start_main(*args: str, extra_env: dict | None = None, environ: dict | None = None
               ) -> MainProcess | subprocess.Popen:
    """`main.py ARGS` started in the background, in `environ` (default: `env(**extra_env)`):
    forked from the preloaded server, or in a fresh interpreter when the environment differs
    from the server's in what TensorFlow reads at its import."""
    environ = env(**(extra_env or {})) if environ is None else environ
    server = _preloaded_server_environment()
    if any(environ.get(name) != value for name, value in server.items()):
        return subprocess.Popen(main_cmd(*args), env=environ, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return MainProcess(args, environ)


def run_main(*args: str, timeout: float = 300, extra_env: dict | None = None,
             check: bool = True) -> subprocess.CompletedProcess:
    """`main.py ARGS` to its end; with `check`, a non-zero status fails the test with the
    process's output."""
    process = start_main(*args, extra_env=extra_env)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    result = subprocess.CompletedProcess(["main.py", *args], process.returncode, stdout, stderr)
    if check and result.returncode != 0:
        raise AssertionError(f"main.py {' '.join(args)} exited {result.returncode}:\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
    return result


def logged_losses(log: str) -> list[float]:
    """The total loss of each step line that `train` logged (`step N/M loss=...`)."""
    return [float(line.split(" loss=")[1].split()[0]) for line in log.splitlines()
            if " loss=" in line]


def free_ports(count: int) -> list[int]:
    """Free TCP ports on 127.0.0.1 (nothing else is ever contacted)."""
    sockets, ports = [], []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
        ports.append(s.getsockname()[1])
    for s in sockets:
        s.close()
    return ports


def synth_words(folder, name: str, num_samples: int, num_shards: int, max_length: int) -> str:
    """What `main.py synth` with its default style writes into `folder/name-*`, rendered in
    this process (the command itself is tested in test_cli.py; a process of its own would
    spend most of its time importing TensorFlow); returns that glob."""
    from pipelines.synth import SynthConfig, write_synth
    write_synth(SynthConfig(output=f"{folder}/{name}", num_samples=num_samples,
                            num_shards=num_shards, max_length=max_length, num_workers=1))
    return f"{folder}/{name}-*"

"""Running `main.py` in real subprocesses from tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAIN = os.path.join(ROOT, "main.py")


def env(**extra: str) -> dict[str, str]:
    out = dict(os.environ)
    out.update({"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": ROOT}, **extra)
    return out


def main_cmd(*args: str) -> list[str]:
    return [sys.executable, MAIN, *args]


def run_main(*args: str, timeout: float = 300, extra_env: dict | None = None,
             check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(main_cmd(*args), capture_output=True, text=True, timeout=timeout,
                            env=env(**(extra_env or {})))
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

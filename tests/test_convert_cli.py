"""`main.py convert` as a user runs it: the default (parallel) path on bad input, a worker
killed mid-run, Ctrl-C. Real processes; a FIFO holds one worker at a known record."""

import json
import os
import signal
import subprocess
import time

import pytest

from tests.cli import env, main_cmd, run_main
from tests.conftest import write_image

# Generous bounds that only catch a hang; the commands end in seconds.
HANG_SECONDS = 120


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def _holder_of(path: str, pids: list[int]) -> int | None:
    """The process among `pids` that has `path` open."""
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == path:
                    return pid
        except OSError:
            continue
    return None


def _wait_for_worker_on(proc: subprocess.Popen, fifo: str) -> tuple[int, int]:
    """Waits until a worker opens the FIFO; returns its pid and our write end, which keeps it
    blocked in read() (it sees no data and no end of file)."""
    deadline = time.monotonic() + HANG_SECONDS
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:  # succeeds once a reader has the FIFO open
            writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            time.sleep(0.05)
            continue
        while time.monotonic() < deadline:
            pid = _holder_of(fifo, _children(proc.pid))
            if pid:
                return pid, writer
            time.sleep(0.05)
    raise AssertionError(f"no worker opened {fifo}")


@pytest.fixture
def labels_with_fifo(tmp_path):
    """40 good lines; line 21 names a FIFO, whose open() blocks the worker that reads it."""
    images = tmp_path / "images"
    images.mkdir()
    lines = []
    for i in range(40):
        write_image(images / f"{i}.png", 30 + i, 16, seed=i)
        lines.append(f"images/{i}.png\tw{i}")
    fifo = images / "stuck.png"
    os.mkfifo(fifo)
    lines.insert(20, "images/stuck.png\tstuck")
    (tmp_path / "labels.tsv").write_text("\n".join(lines) + "\n")
    return tmp_path, str(fifo)


# A shell without job control starts background commands (`make test &` in a script) with
# SIGINT ignored, and every process they start inherits that. Ctrl-C is what the tests here
# send, so `convert` gets the default disposition a terminal's foreground job has; exec keeps
# the pid, which the tests look up.
_WITH_DEFAULT_SIGINT = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                        "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])")


@pytest.fixture
def start_convert():
    """Starts `convert` on a label file; whatever the test does, nothing is left running."""
    procs = []

    def start(tmp_path) -> subprocess.Popen:
        command = main_cmd("convert", "--input_format=tsv", f"--input={tmp_path}/labels.tsv",
                           f"--output={tmp_path}/out/c", "--num_shards=2", "--num_workers=2")
        procs.append(subprocess.Popen(
            [command[0], "-c", _WITH_DEFAULT_SIGINT, *command[1:]],
            env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True))
        return procs[-1]

    yield start
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_killed_worker_ends_convert_with_a_clear_error(labels_with_fifo, start_convert):
    tmp_path, fifo = labels_with_fifo
    proc = start_convert(tmp_path)
    worker, writer = _wait_for_worker_on(proc, fifo)
    os.kill(worker, signal.SIGKILL)
    _, stderr = proc.communicate(timeout=HANG_SECONDS)
    os.close(writer)
    assert proc.returncode == 1, stderr
    last = stderr.strip().splitlines()[-1]
    assert f"worker process {worker} killed by SIGKILL" in last
    assert "labels.tsv:21" in last  # the record it was holding
    assert "Traceback" not in stderr
    assert not [f for f in os.listdir(tmp_path / "out") if "tfrecord" in f]


def test_ctrl_c_stops_convert_promptly_and_leaves_no_shard(labels_with_fifo, start_convert):
    tmp_path, fifo = labels_with_fifo
    proc = start_convert(tmp_path)
    worker, writer = _wait_for_worker_on(proc, fifo)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=HANG_SECONDS)
    os.close(writer)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert not [f for f in os.listdir(tmp_path / "out") if "tfrecord" in f]
    with pytest.raises(ProcessLookupError):  # the workers are gone too
        os.kill(worker, 0)


@pytest.mark.parametrize("fmt", ["tsv", "jsonl", "mjsynth"])
def test_default_worker_count_reports_bad_lines(tmp_path, fmt):
    """The parallel path (the default) on one good and three bad lines."""
    images = tmp_path / "images"
    images.mkdir()
    write_image(images / "a.png")
    if fmt == "tsv":
        body = b"images/a.png\tgood\nimages/none.png\tx\nno tab here\nimages/a.png\t\xff\n"
    elif fmt == "mjsynth":
        os.link(images / "a.png", images / "1_good_3.png")
        body = (b"./images/1_good_3.png 3\n./images/2_none_3.png 3\n./images/a.png 1\n"
                b"./images/3_a\xff_3.png 3\n")
    else:
        body = (json.dumps({"image": "images/a.png", "text": "good"}) + "\n"
                + json.dumps({"image": "images/none.png", "text": "x"}) + "\n{oops\n"
                + '{"image": "images/a.png", "text": "a\\u00e9"}\n').encode()
    (tmp_path / f"labels.{fmt}").write_bytes(body)
    out = run_main("convert", f"--input_format={fmt}", f"--input={tmp_path}/labels.{fmt}",
                   f"--output={tmp_path}/c", "--num_shards=2", timeout=HANG_SECONDS)
    assert "wrote 1 records" in out.stdout and "skipped 3" in out.stdout
    report = json.loads((tmp_path / "c.report.json").read_text())
    assert [e["source"].rsplit(":", 1)[1] for e in report["errors"]] == ["2", "3", "4"]
    strict = run_main("convert", f"--input_format={fmt}", f"--input={tmp_path}/labels.{fmt}",
                      f"--output={tmp_path}/s", "--strict", check=False, timeout=HANG_SECONDS)
    assert strict.returncode == 1


@pytest.mark.parametrize("fmt, content, reason", [
    ("svt", b"<tagset><image>", "not well-formed XML"),
    ("iiit5k", b"MATLAB 5.0 MAT-file, truncated", "not a MATLAB file scipy reads"),
    ("lmdb", None, "an LMDB without the 'num-samples' key"),
])
def test_a_label_file_of_another_kind_ends_convert_with_one_line(tmp_path, fmt, content,
                                                                 reason):
    """Named with the reason, as bad records are, and no traceback."""
    if content is None:  # an LMDB that holds something else
        lmdb = pytest.importorskip("lmdb")
        with lmdb.open(str(tmp_path / "labels"), map_size=1 << 20) as env, \
                env.begin(write=True) as txn:
            txn.put(b"other-key", b"1")
    else:
        pytest.importorskip("scipy.io")
        (tmp_path / "labels").write_bytes(content)
    out = run_main("convert", f"--input_format={fmt}", f"--input={tmp_path}/labels",
                   f"--output={tmp_path}/c", check=False, timeout=HANG_SECONDS)
    assert out.returncode == 1
    assert f"main.py convert: error: {tmp_path}/labels: {reason}" in out.stderr
    assert "Traceback" not in out.stderr

"""MultiWorkerMirroredStrategy as real worker processes talking over 127.0.0.1: the loopback
job script, SLURM's environment, preemption, a dead peer and a peer that never comes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time

import numpy as np
import pytest
import tensorflow as tf

from tests.cli import (ROOT, MainProcess, env, free_ports, logged_losses, main_cmd, run_main,
                       start_main, synth_words)

WORKER_FLAGS = ["--batch_size=4", "--input_height=32", "--input_width=128", "--noaugment",
                "--seed=1"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return synth_words(tmp_path_factory.mktemp("data"), "train", 48, 4, 5)


def _final(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def test_the_loopback_job_trains_two_workers_in_lockstep(tmp_path, data):
    """jobs/local_two_workers.sh: equal losses and weights; only the chief writes."""
    model_dir = str(tmp_path / "model")
    logs = tmp_path / "logs"
    result = subprocess.run(
        [os.path.join(ROOT, "jobs", "local_two_workers.sh"), f"--train_data={data}",
         f"--model_dir={model_dir}", "--train_steps=6", "--steps_per_loop=2",
         "--checkpoint_every=4", "--ema_decay=0.9", *WORKER_FLAGS],
        env=env(LOG_DIR=str(logs), PYTHON=main_cmd()[0]), capture_output=True, text=True,
        timeout=400)
    worker_logs = [(logs / f"worker-{i}.log").read_text() for i in range(2)]
    assert result.returncode == 0, result.stdout + worker_logs[0][-3000:] + \
        worker_logs[1][-3000:]
    for index, log in enumerate(worker_logs):
        assert "strategy multi_worker (CollectiveAllReduceStrategy) with 2 replica(s)" in log
        assert f"worker {index} at 127.0.0.1:" in log and "<- this process" in log
    assert len(logged_losses(worker_logs[0])) == 3
    np.testing.assert_allclose(logged_losses(worker_logs[0]), logged_losses(worker_logs[1]),
                               rtol=1e-6)
    finals = [_final((logs / f"worker-{i}.out").read_text()) for i in range(2)]
    assert finals[0]["step"] == finals[1]["step"] == 6
    assert finals[0]["weights_sha256"] == finals[1]["weights_sha256"]
    assert tf.train.latest_checkpoint(model_dir).endswith("ckpt-6")
    from loops.checkpoints import has_weight_average
    assert has_weight_average(tf.train.latest_checkpoint(model_dir))
    assert not [d for d in os.listdir(model_dir) if d.startswith(".worker")]


def _consecutive_free_ports() -> int:
    """A port p on 127.0.0.1 with p + 1 also free (SLURM tasks listen on base + index)."""
    while True:
        first = socket.socket()
        first.bind(("127.0.0.1", 0))
        port = first.getsockname()[1]
        second = socket.socket()
        try:
            second.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            pass
        finally:
            first.close()
            second.close()


def _slurm_pair(data: str, model_dir: str, train_steps: int, *flags: str
                ) -> list[MainProcess | subprocess.Popen]:
    """Two workers started as `srun -N1 -n2` would start them on one node."""
    port_base = _consecutive_free_ports()
    procs = []
    for rank in range(2):
        worker_env = env(SLURM_PROCID=str(rank), SLURM_STEP_NUM_TASKS="2",
                         SLURM_STEP_NODELIST="127.0.0.1", SLURM_STEP_TASKS_PER_NODE="2")
        worker_env.pop("TF_CONFIG", None)
        procs.append(start_main(
            "train", f"--train_data={data}", f"--model_dir={model_dir}",
            "--strategy=multi_worker", f"--slurm_port_base={port_base}",
            f"--train_steps={train_steps}", *WORKER_FLAGS, *flags, environ=worker_env))
    return procs


def test_sigterm_to_one_slurm_worker_checkpoints_both_at_that_step_and_they_resume(
        tmp_path, data):
    model_dir = str(tmp_path / "model")
    # One compiled loop of 1,000 steps: the stop must come after the current step.
    procs = _slurm_pair(data, model_dir, 100000, "--steps_per_loop=1000")
    deadline = time.time() + 300
    while not os.path.exists(f"{model_dir}/model_spec.json") and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(10)  # into the first loop
    procs[1].send_signal(signal.SIGTERM)
    outputs = [p.communicate(timeout=200) for p in procs]
    assert [p.returncode for p in procs] == [143, 143], outputs[0][1][-3000:]
    finals = [_final(stdout) for stdout, _ in outputs]
    assert finals[0]["stopped_by"] == "another worker" and finals[1]["stopped_by"] == "SIGTERM"
    step = finals[0]["step"]
    assert finals[1]["step"] == step and 1 <= step < 1000
    assert finals[0]["weights_sha256"] == finals[1]["weights_sha256"]
    assert tf.train.latest_checkpoint(model_dir).endswith(f"ckpt-{step}")
    assert "worker 1 at 127.0.0.1:" in outputs[0][1]  # the SLURM cluster, named in the log
    assert "received SIGTERM: stopping after the current step" in outputs[1][1]
    assert f"another worker asked to stop: stopped at step {step}" in outputs[0][1]

    procs = _slurm_pair(data, model_dir, step + 3, "--steps_per_loop=2")
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs[0][1][-3000:]
    for stdout, stderr in outputs:
        assert f"restored {model_dir}/ckpt-{step}" in stderr
        assert f"resuming at step {step} with a new input order" in stderr
        logged = [line.split("step ")[1].split("/")[0] for line in stderr.splitlines()
                  if " loss=" in line]
        assert logged == [str(step + 2), str(step + 3)]  # continuous from the checkpoint
        assert _final(stdout)["step"] == step + 3
    assert tf.train.latest_checkpoint(model_dir).endswith(f"ckpt-{step + 3}")


def _tf_config_pair(data: str, model_dir: str, *flags: str
                    ) -> list[MainProcess | subprocess.Popen]:
    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    return [start_main("train", f"--train_data={data}", f"--model_dir={model_dir}",
                       "--strategy=multi_worker", *WORKER_FLAGS, *flags,
                       extra_env={"TF_CONFIG": json.dumps(
                           {"cluster": cluster, "task": {"type": "worker", "index": index}})})
            for index in range(2)]


def test_a_killed_chief_ends_the_other_worker_within_a_minute(tmp_path, data):
    model_dir = str(tmp_path / "model")
    procs = _tf_config_pair(data, model_dir, "--train_steps=100000", "--steps_per_loop=2",
                            "--checkpoint_every=4")
    deadline = time.time() + 300
    while tf.train.latest_checkpoint(model_dir) is None and time.time() < deadline:
        time.sleep(0.1)
    checkpoint = tf.train.latest_checkpoint(model_dir)
    assert checkpoint is not None, "no checkpoint within 300 s"
    procs[0].send_signal(signal.SIGKILL)
    killed = time.time()
    _, stderr = procs[1].communicate(timeout=60)
    assert time.time() - killed < 60
    from loops.cluster import PEER_LOST_STATUS
    assert procs[1].returncode == PEER_LOST_STATUS, stderr[-3000:]
    assert "main.py train: lost contact with another worker after step" in stderr
    assert "restart every worker; they resume from" in stderr
    procs[0].wait()


def test_a_worker_whose_peer_never_comes_fails_naming_it(tmp_path, data):
    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    result = run_main("train", f"--train_data={data}", f"--model_dir={tmp_path}/model",
                      "--strategy=multi_worker", "--cluster_start_timeout=5", *WORKER_FLAGS,
                      extra_env={"TF_CONFIG": json.dumps(
                          {"cluster": cluster, "task": {"type": "worker", "index": 0}})},
                      check=False, timeout=120)
    from loops.cluster import PEER_LOST_STATUS
    assert result.returncode == PEER_LOST_STATUS, result.stderr[-3000:]
    assert (f"could not meet every worker within 5 s (--cluster_start_timeout); not reachable "
            f"from here: worker 1 at 127.0.0.1:{ports[1]}") in result.stderr

"""MultiWorkerMirroredStrategy as two real processes talking over 127.0.0.1."""

import json
import os
import subprocess

import numpy as np
import tensorflow as tf

from tests.cli import env, free_ports, main_cmd, run_main


def test_two_workers_train_in_lockstep_and_the_chief_checkpoints(tmp_path):
    data = tmp_path / "data"
    run_main("synth", f"--output={data}/train", "--num_samples=48", "--num_shards=4",
             "--max_length=5", "--num_workers=1")
    model_dir = str(tmp_path / "model")
    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for index in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        procs.append(subprocess.Popen(
            main_cmd("train", f"--train_data={data}/train-*", f"--model_dir={model_dir}",
                     "--strategy=multi_worker", "--train_steps=6", "--batch_size=4",
                     "--input_height=32", "--input_width=128",
                     "--steps_per_loop=2", "--checkpoint_every=4", "--noaugment", "--seed=1",
                     "--ema_decay=0.9"),
            env=env(TF_CONFIG=tf_config), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True))
    outputs = [p.communicate(timeout=400) for p in procs]
    for proc, (stdout, stderr) in zip(procs, outputs):
        assert proc.returncode == 0, stderr[-4000:]
    logs = [stderr for _, stderr in outputs]
    assert all("strategy multi_worker (CollectiveAllReduceStrategy) with 2 replica(s)" in log
               for log in logs)

    def losses(log):
        return [float(line.split(" loss=")[1].split()[0]) for line in log.splitlines()
                if " loss=" in line]

    assert len(losses(logs[0])) == 3
    np.testing.assert_allclose(losses(logs[0]), losses(logs[1]), rtol=1e-6)
    assert tf.train.latest_checkpoint(model_dir).endswith("ckpt-6")
    from loops.checkpoints import has_weight_average
    assert has_weight_average(tf.train.latest_checkpoint(model_dir))
    assert not [d for d in os.listdir(model_dir) if d.startswith(".worker")]
    assert json.loads(outputs[0][0].strip().splitlines()[-1])["step"] == 6

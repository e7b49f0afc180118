"""Cluster resolution from TF_CONFIG or SLURM's environment, in-process (nothing is
contacted: the resolvers only read the environment)."""

from __future__ import annotations

import json
import os

import pytest

from loops.cluster import cluster_source, describe, make_resolver

SLURM_TWO_NODES = {"SLURM_PROCID": "3", "SLURM_STEP_NUM_TASKS": "4",
                   "SLURM_STEP_NODELIST": "node[1-2]", "SLURM_STEP_TASKS_PER_NODE": "2(x2)"}


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("TF_CONFIG", "CUDA_VISIBLE_DEVICES", "SLURM_GPUS_ON_NODE",
                 *SLURM_TWO_NODES):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_slurm_tasks_get_ports_per_node_and_their_own_gpus(clean_env):
    for name, value in SLURM_TWO_NODES.items():
        clean_env.setenv(name, value)
    clean_env.setenv("SLURM_GPUS_ON_NODE", "4")
    assert cluster_source("auto") == "slurm"
    resolver = make_resolver("auto", port_base=9000)
    assert resolver.cluster_spec().as_dict() == {
        "worker": ["node1:9000", "node1:9001", "node2:9000", "node2:9001"]}
    assert (resolver.task_type, resolver.task_id) == ("worker", 3)
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "2,3"  # the second half of node2's GPUs
    text = describe(resolver)
    assert "worker 0 at node1:9000 (chief)" in text
    assert "worker 3 at node2:9001 (worker) <- this process" in text
    assert "CUDA_VISIBLE_DEVICES=2,3" in text


def test_slurm_without_gpus_leaves_device_visibility_alone(clean_env):
    for name, value in SLURM_TWO_NODES.items():
        clean_env.setenv(name, value)
    clean_env.setenv("SLURM_PROCID", "0")
    resolver = make_resolver("slurm")
    assert resolver.cluster_spec().as_dict()["worker"][1] == "node1:8889"
    assert "CUDA_VISIBLE_DEVICES" not in os.environ


def test_tf_config_wins_over_slurm_and_names_the_chief(clean_env):
    for name, value in SLURM_TWO_NODES.items():
        clean_env.setenv(name, value)
    clean_env.setenv("TF_CONFIG", json.dumps({
        "cluster": {"chief": ["127.0.0.1:1"], "worker": ["127.0.0.1:2", "127.0.0.1:3"]},
        "task": {"type": "worker", "index": 1}}))
    assert cluster_source("auto") == "tf_config"
    text = describe(make_resolver("auto"))
    assert "chief 0 at 127.0.0.1:1 (chief)" in text
    assert "worker 0 at 127.0.0.1:2 (worker)" in text
    assert "worker 1 at 127.0.0.1:3 (worker) <- this process" in text


@pytest.mark.parametrize("source,env,message", [
    ("auto", {}, "needs a cluster: set TF_CONFIG, or start the workers with SLURM's srun"),
    ("tf_config", {}, "--cluster=tf_config but TF_CONFIG is not set"),
    ("slurm", {"SLURM_PROCID": "0"}, "--cluster=slurm outside a SLURM job step: "
                                     "SLURM_STEP_NUM_TASKS, SLURM_STEP_NODELIST"),
])
def test_a_missing_cluster_says_what_is_missing(clean_env, source, env, message):
    for name, value in env.items():
        clean_env.setenv(name, value)
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        cluster_source(source)

"""Where a multi-worker job's cluster comes from: TF_CONFIG (Kubernetes TFJob, hand-written)
or SLURM's environment (`srun`), and how its workers talk (NCCL on GPUs, ring elsewhere)."""

from __future__ import annotations

import logging
import os
import socket

import tensorflow as tf

from loops.options import CLUSTER_SOURCES, COLLECTIVES

log = logging.getLogger(__name__)

_IMPLEMENTATIONS = {
    "auto": tf.distribute.experimental.CommunicationImplementation.AUTO,
    "ring": tf.distribute.experimental.CommunicationImplementation.RING,
    "nccl": tf.distribute.experimental.CommunicationImplementation.NCCL,
}
# The exit status of a worker that lost (or never met) a peer. At least 128, which cluster
# schedulers (Kubernetes TFJob's ExitCode policy) retry, and not 128 + a signal's number.
PEER_LOST_STATUS = 140
_NO_GPU_SLOTS = 1 << 16  # more than any node runs tasks
# SLURM sets these inside a job step (`srun`), not in the batch script around it.
SLURM_STEP_VARIABLES = ("SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_STEP_NODELIST",
                        "SLURM_STEP_TASKS_PER_NODE")


def cluster_source(source: str) -> str:
    """`auto` resolves to `tf_config` when TF_CONFIG is set, else to `slurm` inside a SLURM
    job step; anything else names what is missing."""
    if source not in CLUSTER_SOURCES:
        raise ValueError(f"unknown cluster source {source!r}; choose one of "
                         f"{CLUSTER_SOURCES}")
    if source == "auto":
        if "TF_CONFIG" in os.environ:
            return "tf_config"
        if all(name in os.environ for name in SLURM_STEP_VARIABLES):
            return "slurm"
        raise ValueError("--strategy=multi_worker needs a cluster: set TF_CONFIG, or start "
                         "the workers with SLURM's srun (which sets "
                         f"{', '.join(SLURM_STEP_VARIABLES)})")
    if source == "tf_config" and "TF_CONFIG" not in os.environ:
        raise ValueError("--cluster=tf_config but TF_CONFIG is not set")
    if source == "slurm":
        missing = [name for name in SLURM_STEP_VARIABLES if name not in os.environ]
        if missing:
            raise ValueError(f"--cluster=slurm outside a SLURM job step: {', '.join(missing)} "
                             "not set (start the workers with srun)")
    return source


def _gpus_per_node() -> int:
    """GPUs SLURM gave this node, without initialising CUDA (the resolver sets
    CUDA_VISIBLE_DEVICES per task, which must happen first)."""
    if os.environ.get("SLURM_GPUS_ON_NODE", "").isdigit():
        return int(os.environ["SLURM_GPUS_ON_NODE"])
    if os.environ.get("CUDA_VISIBLE_DEVICES"):
        return len(os.environ["CUDA_VISIBLE_DEVICES"].split(","))
    return 0


def make_resolver(source: str, port_base: int = 8888
                  ) -> tf.distribute.cluster_resolver.ClusterResolver:
    """The cluster resolver for `source` (see `cluster_source`). Under SLURM, task i of a
    node listens on port_base + i, and the node's GPUs are split evenly between its tasks
    (each task sees only its own through CUDA_VISIBLE_DEVICES)."""
    source = cluster_source(source)
    if source == "tf_config":
        return tf.distribute.cluster_resolver.TFConfigClusterResolver()
    gpus = _gpus_per_node()
    if gpus:
        resolver = tf.distribute.cluster_resolver.SlurmClusterResolver(
            port_base=port_base, gpus_per_node=gpus, auto_set_gpu=True)
    else:
        # Nothing to allocate; the resolver still divides by its GPUs per task.
        resolver = tf.distribute.cluster_resolver.SlurmClusterResolver(
            port_base=port_base, gpus_per_node=_NO_GPU_SLOTS, gpus_per_task=1,
            auto_set_gpu=False)
    resolver.cluster_spec()  # assigns task_type/task_id and sets CUDA_VISIBLE_DEVICES
    return resolver


def _tasks(resolver) -> list[tuple[str, int, str]]:
    """(job, index, host:port) of every task of the cluster, in order."""
    out = []
    for job, addresses in sorted(resolver.cluster_spec().as_dict().items()):
        tasks = addresses.items() if isinstance(addresses, dict) else enumerate(addresses)
        out.extend((job, index, address) for index, address in sorted(tasks))
    return out


def describe(resolver: tf.distribute.cluster_resolver.ClusterResolver) -> str:
    """Every task of the cluster with its address and role, and which one this process is."""
    tasks = _tasks(resolver)
    chief = ("chief", 0) if any(job == "chief" for job, _, _ in tasks) else ("worker", 0)
    lines = []
    for job, index, address in tasks:
        role = "chief" if (job, index) == chief else job
        me = " <- this process" if (job, index) == (resolver.task_type,
                                                     resolver.task_id) else ""
        lines.append(f"  {job} {index} at {address} ({role}){me}")
    gpus = os.environ.get("CUDA_VISIBLE_DEVICES")
    visible = f"; CUDA_VISIBLE_DEVICES={gpus}" if gpus is not None else ""
    return f"cluster of {len(lines)} task(s){visible}:\n" + "\n".join(lines)


def _peer_addresses(resolver) -> list[tuple[str, str]]:
    """(name, host:port) of every task but this one."""
    return [(f"{job} {index}", address) for job, index, address in _tasks(resolver)
            if (job, index) != (resolver.task_type, resolver.task_id)]


def _unreachable(peers: list[tuple[str, str]]) -> list[str]:
    """The peers that do not accept a TCP connection, each with the reason."""
    found = []
    for name, address in peers:
        host, port = address.rsplit(":", 1)
        try:
            socket.create_connection((host, int(port)), timeout=2).close()
        except OSError as e:
            found.append(f"{name} at {address} ({e.strerror or e})")
    return found


def _configure_coordination(spec: dict, start_timeout_seconds: float) -> None:
    """The coordination service MultiWorkerMirroredStrategy would set up, plus a start-up
    barrier: every task must register within `start_timeout_seconds`, else the strategy
    raises. Without it, TensorFlow waits for a missing peer without a bound, inside C++ and
    holding the GIL, where no Python watchdog can run (docs/tf-notes.md)."""
    from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
    from tensorflow.python.eager import context  # no public API sets these
    jobs = [coordination_config_pb2.CoordinatedJob(name=job, num_tasks=len(spec[job]))
            for job in ("chief", "worker") if job in spec]
    leader = "/job:chief/replica:0/task:0" if "chief" in spec else \
        "/job:worker/replica:0/task:0"
    context.context().configure_coordination_service(
        service_type="standalone", service_leader=leader, coordinated_jobs=jobs,
        cluster_register_timeout_in_ms=int(start_timeout_seconds * 1000))
    context.context().coordination_service.cluster_register_with_barrier = True


class PeersUnreachable(RuntimeError):
    """A worker did not meet all its peers at start-up (`main.py train` exits
    `PEER_LOST_STATUS`)."""


def multi_worker_strategy(source: str = "auto", port_base: int = 8888,
                          collective: str = "auto", start_timeout_seconds: float = 600.0
                          ) -> tf.distribute.Strategy:
    """MultiWorkerMirroredStrategy over the resolved cluster (see `make_resolver`), talking
    through `collective`. A worker that has not met all its peers after
    `start_timeout_seconds` raises `PeersUnreachable`, naming those it cannot reach; once
    running, TensorFlow's coordination service ends every worker's collectives soon after a
    peer stops sending heartbeats (the controller turns that into `PeerLost`)."""
    if collective not in COLLECTIVES:
        raise ValueError(f"unknown collective {collective!r}; choose one of "
                         f"{list(COLLECTIVES)}")
    resolver = make_resolver(source, port_base)
    log.info("%s", describe(resolver))
    _configure_coordination(resolver.cluster_spec().as_dict(), start_timeout_seconds)
    options = tf.distribute.experimental.CommunicationOptions(
        implementation=_IMPLEMENTATIONS[collective])
    try:
        return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver,
                                                         communication_options=options)
    except (tf.errors.DeadlineExceededError, tf.errors.UnavailableError) as e:
        peers = _peer_addresses(resolver)
        missing = _unreachable(peers) or [f"{name} at {address} (it accepts connections)"
                                          for name, address in peers]
        raise PeersUnreachable(
            f"could not meet every worker within {start_timeout_seconds:.0f} s "
            f"(--cluster_start_timeout); not reachable from here: {'; '.join(missing)}. Is "
            f"each of them started, with the same cluster? ({type(e).__name__}: "
            f"{str(e).splitlines()[0]})") from None

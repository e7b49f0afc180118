"""tf.distribute strategies by name, and mixed-precision policies."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import keras
import tensorflow as tf

from loops import cpu
from loops.cluster import multi_worker_strategy
from loops.config import ClusterConfig
from loops.options import PRECISIONS, STRATEGIES, resolve_precision

if TYPE_CHECKING:
    from loops.config import RuntimeConfig

log = logging.getLogger(__name__)


def split_cpu(count: int) -> None:
    """Presents the CPU as `count` logical devices, so that MirroredStrategy code paths run
    on a machine without GPUs. Must run before TensorFlow initialises its devices."""
    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(
        cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(count)])


def make_strategy(name: str, devices: tuple[str, ...] = (),
                  cluster: ClusterConfig = ClusterConfig()) -> tf.distribute.Strategy:
    """default: no distribution; one_device: the first GPU (or CPU) or devices[0];
    mirrored: all local GPUs or `devices`; multi_worker: the cluster of TF_CONFIG or SLURM
    (loops/cluster.py)."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "one_device":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.OneDeviceStrategy(devices[0] if devices else
                                               (gpus[0].name if gpus else "/cpu:0"))
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(list(devices) or None)
    if name == "multi_worker":
        return multi_worker_strategy(cluster.source, cluster.port_base, cluster.collective,
                                     cluster.start_timeout_seconds)
    raise ValueError(f"unknown strategy {name!r}; choose one of {STRATEGIES}")


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True except on non-chief workers of a multi-worker cluster."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    return task_type == "chief" or (task_type == "worker" and task_id == 0
                                    and "chief" not in resolver.cluster_spec().as_dict())


def task_id(strategy: tf.distribute.Strategy) -> int:
    resolver = getattr(strategy, "cluster_resolver", None)
    return int(resolver.task_id or 0) if resolver is not None else 0


def set_precision(name: str) -> str:
    """Sets the global Keras dtype policy before the model is built; returns its name."""
    if name not in PRECISIONS:
        raise ValueError(f"unknown precision {name!r}; choose one of {list(PRECISIONS)}")
    keras.mixed_precision.set_dtype_policy(PRECISIONS[name])
    return PRECISIONS[name]


def cpu_has_native_bfloat16() -> bool:
    """True if this CPU does bfloat16 arithmetic natively (see `loops.cpu`)."""
    return cpu.has_native_bfloat16(cpu.cpu_flags())


def machine_precision(option: str) -> str:
    """`option` with `auto` resolved for this machine (`loops.options.resolve_precision`)."""
    return resolve_precision(option, has_gpu=bool(tf.config.list_physical_devices("GPU")),
                             cpu_native_bfloat16=cpu_has_native_bfloat16())


def set_up_runtime(runtime: RuntimeConfig, deterministic: bool = False
                   ) -> tf.distribute.Strategy:
    """Everything a run sets before it builds a model: logical CPU devices, seeds, op
    determinism, the precision policy; returns the strategy to build under."""
    if runtime.cpu_devices > 1:
        split_cpu(runtime.cpu_devices)
    keras.utils.set_random_seed(runtime.seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    set_precision(runtime.mixed_precision)
    strategy = make_strategy(runtime.strategy, runtime.devices, runtime.cluster)
    log.info("strategy %s (%s) with %d replica(s)", runtime.strategy,
             type(strategy).__name__, strategy.num_replicas_in_sync)
    return strategy

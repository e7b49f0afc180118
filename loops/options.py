"""Names of the runtime options, importable without TensorFlow (flags use them)."""

STRATEGIES = ("default", "one_device", "mirrored", "multi_worker")
CLUSTER_SOURCES = ("auto", "tf_config", "slurm")  # where multi_worker finds its workers
COLLECTIVES = ("auto", "ring", "nccl")
PRECISIONS = {"none": "float32", "float16": "mixed_float16", "bfloat16": "mixed_bfloat16"}
# --mixed_precision=auto: bfloat16 on a CPU-only machine whose CPU computes it natively,
# float32 everywhere else (GPUs: choose float16 or bfloat16 explicitly, BUILD.md).
AUTO_PRECISION = "auto"
# The start's weight in a finished run's average with the weights it started from. Weighted
# towards the run, the average reads the words the run trained for as the run alone does and
# keeps most of what the start read; the plain mean (0.5) keeps more of that and reads fewer
# of the run's words (BUILD.md, "Pseudo-boxes of the true size").
DEFAULT_START_SHARE = 0.25


def resolve_precision(option: str, has_gpu: bool, cpu_native_bfloat16: bool) -> str:
    """The precision an option stands for on a machine: `auto` resolved, others as given."""
    if option != AUTO_PRECISION:
        return option
    return "bfloat16" if cpu_native_bfloat16 and not has_gpu else "none"


def precision_name(option: str) -> str:
    """How a --mixed_precision option reads in logs: float32, mixed bfloat16, ..."""
    return "float32" if option == "none" else f"mixed {option}"

"""Names of the runtime options, importable without TensorFlow (flags use them)."""

STRATEGIES = ("default", "one_device", "mirrored", "multi_worker")
CLUSTER_SOURCES = ("auto", "tf_config", "slurm")  # where multi_worker finds its workers
COLLECTIVES = ("auto", "ring", "nccl")
PRECISIONS = {"none": "float32", "float16": "mixed_float16", "bfloat16": "mixed_bfloat16"}


def precision_name(option: str) -> str:
    """How a --mixed_precision option reads in logs: float32, mixed bfloat16, ..."""
    return "float32" if option == "none" else f"mixed {option}"

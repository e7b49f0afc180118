"""Names of the runtime options, importable without TensorFlow (flags use them)."""

STRATEGIES = ("default", "one_device", "mirrored", "multi_worker")
PRECISIONS = {"none": "float32", "float16": "mixed_float16", "bfloat16": "mixed_bfloat16"}

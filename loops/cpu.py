"""What this CPU can do, read before TensorFlow loads (TensorFlow-free on purpose).

TensorFlow turns its oneDNN kernels on by default only on CPUs with AVX-512 VNNI/BF16-class
features; on AVX2-only CPUs they stay off unless asked for, although they train the model
faster there too (see BUILD.md for the measurement). `enable_onednn` asks for them.
"""

from __future__ import annotations

import os
from typing import MutableMapping

ONEDNN_VARIABLE = "TF_ENABLE_ONEDNN_OPTS"


def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> set[str]:
    """The feature flags of the first CPU in `cpuinfo` (empty where it cannot be read)."""
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def has_native_bfloat16(flags: set[str]) -> bool:
    """bfloat16 arithmetic in hardware (AVX512-BF16 or AMX-BF16): there mixed bfloat16 is
    faster than float32; elsewhere it is emulated and much slower."""
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def enable_onednn(flags: set[str], environ: MutableMapping[str, str] = os.environ) -> bool:
    """Asks TensorFlow for its oneDNN kernels on AVX2 CPUs, unless the user set the variable.
    Must run before TensorFlow is imported. Returns whether this call set it."""
    if ONEDNN_VARIABLE in environ or "avx2" not in flags:
        return False
    environ[ONEDNN_VARIABLE] = "1"
    return True

"""What this CPU can do, read before TensorFlow loads (TensorFlow-free on purpose).

TensorFlow turns its oneDNN kernels on by default only on CPUs with AVX-512 VNNI/BF16-class
features; on AVX2-only CPUs they stay off unless asked for, although they train the model
faster there too (see BUILD.md for the measurement). `enable_onednn` asks for them.

To measure what a slower CPU would do, `TEXTSCANNER_HIDE_CPU_FLAGS=avx512,amx` hides every
flag with those prefixes from the project's choices (precision `auto`, oneDNN), and
`ONEDNN_MAX_CPU_ISA=AVX2` keeps oneDNN's kernels to that instruction set (BUILD.md, "The slow
class, emulated"). TensorFlow still sees the real CPU: on one with AVX-512, explicitly
bfloat16 or float16 runs then fail in oneDNN, so the emulation is for float32 runs.
"""

from __future__ import annotations

import os
from typing import Mapping, MutableMapping

ONEDNN_VARIABLE = "TF_ENABLE_ONEDNN_OPTS"
HIDE_VARIABLE = "TEXTSCANNER_HIDE_CPU_FLAGS"


def cpu_flags(cpuinfo: str = "/proc/cpuinfo",
              environ: Mapping[str, str] = os.environ) -> set[str]:
    """The feature flags of the first CPU in `cpuinfo` (empty where it cannot be read),
    less those starting with a prefix listed in TEXTSCANNER_HIDE_CPU_FLAGS."""
    flags: set[str] = set()
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    hidden = tuple(p.strip() for p in environ.get(HIDE_VARIABLE, "").split(",") if p.strip())
    return {flag for flag in flags if not flag.startswith(hidden)} if hidden else flags


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

"""What this CPU computes natively, so a dtype is chosen by the machine rather than guessed.

bfloat16 halves the bytes a weight costs and is faster on CPUs with native bfloat16 arithmetic
(AVX512-BF16 or AMX). Elsewhere torch emulates it, and on an AVX2-only AMD EPYC the emulation
made a batched forward pass 4.6x slower than float32 and a LoRA training step ~40x slower
(measured 2026-12-02; ``adapters/default/README.md``). ``auto`` settings resolve through here.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

NATIVE_BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")
CPUINFO = Path("/proc/cpuinfo")


@cache
def native_bfloat16(cpuinfo: Path = CPUINFO) -> bool:
    """Whether the CPU computes bfloat16 natively (Linux ``/proc/cpuinfo`` flags; False elsewhere)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return False
    flags = {
        word for line in text.splitlines() if line.startswith("flags") for word in line.split()
    }
    return any(flag in flags for flag in NATIVE_BFLOAT16_FLAGS)


def resolve_dtype(name: str) -> str:
    """``auto`` becomes bfloat16 on CPUs that compute it natively and float32 elsewhere."""
    if name != "auto":
        return name
    return "bfloat16" if native_bfloat16() else "float32"

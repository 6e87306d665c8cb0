"""The dtype 'auto' settles on: bfloat16 only where the CPU computes it natively."""

from __future__ import annotations

from pathlib import Path

from specialist.hardware import native_bfloat16, resolve_dtype

AVX2_ONLY = (
    "processor : 0\nflags : fpu sse2 avx avx2 fma\n\nprocessor : 1\nflags : fpu sse2 avx avx2\n"
)
SAPPHIRE_RAPIDS = "processor : 0\nflags : fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"


def test_only_bfloat16_flags_count(tmp_path: Path) -> None:
    avx2, sapphire = tmp_path / "avx2", tmp_path / "spr"
    avx2.write_text(AVX2_ONLY)
    sapphire.write_text(SAPPHIRE_RAPIDS)
    assert not native_bfloat16.__wrapped__(avx2)
    assert native_bfloat16.__wrapped__(sapphire)
    assert not native_bfloat16.__wrapped__(tmp_path / "missing")


def test_explicit_dtypes_pass_through_and_auto_follows_the_machine() -> None:
    assert resolve_dtype("float32") == "float32"
    assert resolve_dtype("bfloat16") == "bfloat16"
    assert resolve_dtype("auto") == ("bfloat16" if native_bfloat16() else "float32")

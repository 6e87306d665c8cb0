"""Evaluate a GGUF model once in a child process before a llama.cpp engine serves it.

A llama.cpp build whose kernels do not suit the CPU dies with a signal on its first evaluation of
some weights: a ``-march=native`` build compiles the AMX kernels in on Sapphire Rapids-class CPUs,
and they segfault on every quantized GGUF (llama.cpp issue 20824); a build for an instruction set
the CPU lacks dies with SIGILL. Inside the service that is a dead server in the middle of a
request. Here the same weights (and LoRA) read one prompt long enough to take the batched matrix
kernels (the AMX crash needs a few hundred tokens) and decode a few tokens, in a child, so a
crash becomes one sentence before anything is served.

A passing check is remembered under ``<home>/cache/llama-selfcheck``, keyed by the llama.cpp
library files, the weights, the LoRA and the CPU's flags, so a restart on the same machine costs
nothing and a rebuilt library, new weights or another CPU are checked again.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

from specialist.errors import UserError

PROMPT_TOKENS = 600
"""More than one 512-token batch: the AMX crash was seen from ~450 prompt tokens on."""
DECODE_TOKENS = 4
TIMEOUT_SECONDS = 300.0
REBUILD_HINT = (
    "rebuild it with `make engine` (a portable AVX2 build without AMX, deploy/llama_cpp_wheel.sh), "
    "or set SPECIALIST_ENGINE=local"
)


def cpu_description() -> tuple[str, set[str]]:
    """The CPU's model name and instruction-set flags, as Linux reports them."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown CPU", set()
    name, flags = "unknown CPU", set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and name == "unknown CPU":
            name = value.strip()
        elif key.strip() == "flags" and not flags:
            flags = set(value.split())
    return name, flags


def _library_files() -> list[Path]:
    """llama-cpp-python's compiled libraries (without importing it, which loads them)."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        raise UserError(
            "the llama.cpp engines need llama-cpp-python: run `make engine` "
            "(or set SPECIALIST_ENGINE=local)"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "lib"
    return sorted(path for path in folder.glob("*.so*") if path.is_file())


def _identity(path: Path) -> str:
    stat = path.stat()
    return f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def check_key(model: Path, lora: Path | None) -> str:
    """What a passing check is valid for: these libraries, weights, adapter and CPU."""
    name, flags = cpu_description()
    parts = [_identity(path) for path in _library_files()]
    parts += [
        _identity(model),
        _identity(lora) if lora else "no-lora",
        name,
        " ".join(sorted(flags)),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def check_gguf(model: Path, lora: Path | None, threads: int, cache_dir: Path) -> None:
    """Raise :class:`UserError` with one sentence unless llama.cpp evaluates ``model`` here."""
    marker = cache_dir / "llama-selfcheck" / f"{check_key(model, lora)}.ok"
    if marker.exists():
        return
    command = [sys.executable, "-m", "engine.selfcheck", str(model), "--threads", str(threads)]
    if lora is not None:
        command += ["--lora", str(lora)]
    try:
        child = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise UserError(
            f"llama.cpp did not finish a {PROMPT_TOKENS}-token test evaluation of {model.name} "
            f"within {TIMEOUT_SECONDS:.0f} s; {REBUILD_HINT}"
        ) from None
    if child.returncode != 0:
        raise UserError(failure_sentence(model, child.returncode, child.stderr))
    marker.parent.mkdir(parents=True, exist_ok=True)
    partial = marker.with_suffix(".partial")
    partial.write_text(child.stdout)
    partial.replace(marker)


def failure_sentence(model: Path, returncode: int, stderr: str) -> str:
    """One sentence for a child that died: which signal, on which CPU, and what to do."""
    name, flags = cpu_description()
    amx = "with AMX" if any(flag.startswith("amx") for flag in flags) else "without AMX"
    if returncode < 0:
        try:
            how = f"crashed with {signal.Signals(-returncode).name}"
        except ValueError:
            how = f"died with signal {-returncode}"
    else:
        last = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit code {returncode}"
        how = f"failed ({last})"
    return (
        f"llama.cpp {how} on its first evaluation of {model.name} on this CPU ({name}, {amx}): "
        f"the installed llama.cpp build does not run these weights here; {REBUILD_HINT}"
    )


def evaluate(model: Path, lora: Path | None, threads: int) -> dict[str, float]:
    """Read a ``PROMPT_TOKENS`` prompt and decode ``DECODE_TOKENS`` greedily (the child's work)."""
    import llama_cpp
    from llama_cpp import _logger

    _logger.set_verbose(False)
    llm = llama_cpp.Llama(
        model_path=str(model),
        lora_path=str(lora) if lora else None,
        n_ctx=PROMPT_TOKENS + DECODE_TOKENS + 8,
        n_batch=512,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    sentence = llm.tokenize(b" The river rises in the Alps and flows north to the sea.", False)
    prompt = (sentence * (PROMPT_TOKENS // len(sentence) + 1))[:PROMPT_TOKENS]
    started = time.perf_counter()
    llm.eval(prompt)
    for _ in range(DECODE_TOKENS):
        llm.eval([llm.sample(temp=0.0)])
    return {
        "tokens": float(PROMPT_TOKENS + DECODE_TOKENS),
        "seconds": time.perf_counter() - started,
    }


def main() -> int:
    """``python -m engine.selfcheck MODEL [--lora FILE] [--threads N]``: exit 0 when it runs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--lora", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    print(json.dumps(evaluate(args.model, args.lora, args.threads)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

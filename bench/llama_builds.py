"""llama.cpp builds side by side: does each run quantized weights on this CPU, and how fast.

For each CPU level of ``deploy/llama_cpp_wheel.sh`` (``native`` is llama.cpp's own default,
``-march=native``, the build ``make engine`` made before; ``avx2`` the portable default now;
``avx512`` the opt-in), the wheel is built once (cached), unpacked into a scratch folder and used
by child processes only, so the project's own install is untouched. Per build and weights file:

1. the engine's start-up self-check (:mod:`engine.selfcheck`: a 600-token prompt and 4 decoded
   tokens in a child), which reproduces the AMX crash: on a CPU with ``amx_int8`` the native
   build dies with SIGSEGV on every quantized GGUF (llama.cpp issue 20824);
2. where it runs, prefill and decode tokens/s: a 685-token prompt read in one call, then 64
   greedy tokens one at a time, 2 threads, best of 3.

Weights: the shipped SmolLM2 Q4_1 GGUF (what ``SPECIALIST_ENGINE=openai`` serves) and the q8_0
file with the shipped adapter folded in (``SPECIALIST_ENGINE=llama-cpp``'s default).

    .venv/bin/python bench/llama_builds.py      # writes bench/results/llama_builds.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
BASELINE = "native"
PROMPT_TOKENS = 685
DECODE_TOKENS = 64


def build(level: str, scratch: Path) -> tuple[Path, str]:
    """The wheel of ``level`` (built once, cached) unpacked into its own folder under ``scratch``,
    and the CMake flags it was built with."""
    pip = str(Path(sys.executable).with_name("pip"))
    wheel = subprocess.run(
        [str(ROOT / "deploy" / "llama_cpp_wheel.sh"), level],
        env={**os.environ, "PIP": pip},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    target = scratch / level
    subprocess.run(
        [pip, "install", "--quiet", "--no-deps", "--target", str(target), wheel], check=True
    )
    return target, (Path(wheel).parent / "CMAKE_ARGS").read_text().strip()


def weights(scratch: Path) -> dict[str, Path]:
    """The shipped Q4_1 GGUF and the q8_0 merge with the shipped adapter."""
    from engine.gguf_lora import base_gguf
    from engine.gguf_merged import merged_gguf
    from specialist.adapters import AdapterRegistry
    from specialist.settings import load_settings

    settings = load_settings(home=scratch / "home", engine_weights="q8_0")
    registry = AdapterRegistry(settings)
    registry.ensure_default()
    version = registry.current()
    return {
        "Q4_1 (shipped)": base_gguf(settings),
        "q8_0 + adapter": merged_gguf(settings, version, registry.path(version)),
    }


def in_build(target: Path, *args: str) -> subprocess.CompletedProcess:
    """Run this project's Python with the llama.cpp of ``target`` first on the path."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), str(ROOT)])}
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True)


def measure(model: Path, threads: int) -> dict[str, float]:
    """(In the child.) Prefill and decode tokens/s of ``model``, best of 3."""
    import llama_cpp

    llm = llama_cpp.Llama(
        model_path=str(model),
        n_ctx=PROMPT_TOKENS + DECODE_TOKENS + 8,
        n_batch=1024,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    text = (ROOT / "corpora" / "xquad" / "Rhine.md").read_bytes()
    prompt = llm.tokenize(text, False)[:PROMPT_TOKENS]
    best = {"prefill_tokens_per_s": 0.0, "decode_tokens_per_s": 0.0}
    for _ in range(3):
        llm.reset()
        start = time.perf_counter()
        llm.eval(prompt)
        read = time.perf_counter()
        for _ in range(DECODE_TOKENS):
            llm.eval([llm.sample(temp=0.0)])
        done = time.perf_counter()
        best["prefill_tokens_per_s"] = max(
            best["prefill_tokens_per_s"], len(prompt) / (read - start)
        )
        best["decode_tokens_per_s"] = max(
            best["decode_tokens_per_s"], DECODE_TOKENS / (done - read)
        )
    return {key: round(value, 1) for key, value in best.items()}


def cpu() -> dict[str, object]:
    from engine.selfcheck import cpu_description

    name, flags = cpu_description()
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16")
    return {"model": name, "flags": [flag for flag in wanted if flag in flags]}


def run(levels: list[str], threads: int) -> dict:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        files = weights(scratch)
        for level in levels:
            target, flags = build(level, scratch)
            for label, path in files.items():
                check = in_build(target, "-m", "engine.selfcheck", str(path), "--threads", "2")
                row: dict[str, object] = {"build": level, "cmake_args": flags, "weights": label}
                if check.returncode != 0:
                    row["check"] = f"died (return code {check.returncode})"
                    rows.append(row)
                    continue
                row["check"] = "ok"
                timed = in_build(
                    target, __file__, "--measure", str(path), "--threads", str(threads)
                )
                row.update(json.loads(timed.stdout.strip().splitlines()[-1]))
                rows.append(row)
    for row in rows:
        base = next(
            (r for r in rows if r["build"] == BASELINE and r["weights"] == row["weights"]), None
        )
        for key in ("prefill_tokens_per_s", "decode_tokens_per_s"):
            if base and key in base and key in row:
                row[key.replace("tokens_per_s", "vs_native")] = round(row[key] / base[key], 2)
    return {"cpu": cpu(), "threads": threads, "prompt_tokens": PROMPT_TOKENS,
            "decode_tokens": DECODE_TOKENS, "baseline": BASELINE, "rows": rows}  # fmt: skip


def print_table(result: dict) -> None:
    print(f"CPU: {result['cpu']['model']} ({', '.join(result['cpu']['flags'])})")
    print("| build | weights | self-check | prefill tok/s | decode tok/s | prefill vs native "
          "| decode vs native |")  # fmt: skip
    print("| --- | --- | --- | ---: | ---: | ---: | ---: |")
    for row in result["rows"]:
        cells = [row.get(k, "") for k in ("prefill_tokens_per_s", "decode_tokens_per_s",
                                          "prefill_vs_native", "decode_vs_native")]  # fmt: skip
        print(f"| {row['build']} | {row['weights']} | {row['check']} | "
              + " | ".join(str(c) for c in cells) + " |")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="native,avx2,avx512")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=RESULTS / "llama_builds.json")
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.threads)))
        return 0
    result = run(args.levels.split(","), args.threads)
    print_table(result)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``POST /summarize`` against llama.cpp's own server, same GGUF weights and prompt, in one run.

- ours: ``specialist serve`` in its own process with ``SPECIALIST_ENGINE=llama-cpp`` (the adapter
  folded into a q8_0 GGUF, :mod:`engine.gguf_merged`), a ~700-word article summarized at
  ``medium`` through ``POST /summarize`` (streamed): first sentence shown (after the faithfulness
  guard), whole summary;
- baseline: llama-cpp-python's OpenAI-compatible server on the **same** q8_0 file, asked the same
  prompt (``render(summary_request(article, "medium"))``, what the service sends for a one-part
  document) with the same token cap, greedy, streamed: first token, whole answer.

Then, on ours only: a 10,000-word document through map-reduce (its progress events over time),
and 8 articles at 4 clients against 1 (summaries per second).

    .venv/bin/python bench/summarize_bench.py        # writes bench/results/summarize_bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import httpx
from ask_bench import pct, start_service

from service.cli import parse_sse

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
XQUAD = ROOT / "corpora" / "xquad"
ARTICLE_WORDS = 700
LONG_WORDS = 10_000


def words_of(names: list[str], count: int) -> str:
    """The first ``count`` words of the articles ``names`` (cut at a sentence end)."""
    from specialist.text import sentences

    text = "\n\n".join((XQUAD / f"{name}.md").read_text() for name in names)
    kept, total = [], 0
    for start, end in sentences(text):
        kept.append(text[start:end])
        total += len(text[start:end].split())
        if total >= count:
            break
    return " ".join(kept)


def articles() -> list[str]:
    """~700-word articles: one per XQuAD article long enough."""
    names = sorted(p.stem for p in XQUAD.glob("*.md") if len(p.read_text().split()) >= 760)
    return [words_of([name], ARTICLE_WORDS) for name in names]


def ours(url: str, text: str) -> dict:
    """One streamed summary from the service: first sentence, total, progress events."""
    started = time.perf_counter()
    first, progress, final = None, [], None
    with httpx.stream(
        "POST", f"{url}/summarize", json={"text": text, "stream": True}, timeout=900
    ) as response:
        for event, data in parse_sse(response.iter_lines()):
            now = round(time.perf_counter() - started, 3)
            if event == "sentence" and first is None:
                first = now
            elif event == "progress":
                progress.append({**data, "at_s": now})
            elif event == "done":
                final = data
    total = time.perf_counter() - started
    assert final is not None, "the summary stream ended without its summary"
    return {
        "ttft_s": first,
        "total_s": round(total, 3),
        "progress": progress,
        "words": len(final["summary"].split()),
        "parts": final["parts"],
        "model_calls": final["model_calls"],
        "summary": final["summary"],
    }


def baseline(url: str, prompt: str, max_tokens: int) -> dict:
    """The same prompt to llama.cpp's server: first token, total."""
    started = time.perf_counter()
    first, text = None, ""
    body = {
        "model": "q8_0",
        "prompt": prompt,
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": True,
    }
    with httpx.stream("POST", f"{url}/v1/completions", json=body, timeout=900) as response:
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            piece = json.loads(line[6:])["choices"][0]["text"]
            if piece and first is None:
                first = round(time.perf_counter() - started, 3)
            text += piece
    return {
        "ttft_s": first,
        "total_s": round(time.perf_counter() - started, 3),
        "words": len(text.split()),
    }


def latency(rows: list[dict]) -> dict:
    totals = [r["total_s"] for r in rows]
    firsts = [r["ttft_s"] for r in rows if r["ttft_s"] is not None]
    return {
        "requests": len(rows),
        "p50_total_s": round(pct(totals, 50), 3),
        "p50_ttft_s": round(pct(firsts, 50), 3) if firsts else None,
        "mean_words": round(sum(r["words"] for r in rows) / len(rows), 1),
    }


def concurrent(url: str, texts: list[str], clients: int) -> dict:
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        rows = list(pool.map(lambda t: ours(url, t), texts))
    wall = time.perf_counter() - started
    return {
        "clients": clients,
        "summaries": len(rows),
        "wall_s": round(wall, 1),
        "summaries_per_s": round(len(rows) / wall, 4),
        **latency(rows),
    }


def start_llama_server(model: Path, port: int, threads: int, log: Path) -> subprocess.Popen:
    """llama-cpp-python's server on ``model`` alone (alias ``q8_0``), once it lists it."""
    from engine.cli import launch_llama_cpp

    config = log.with_name("llama.json")
    config.write_text(
        json.dumps(
            {
                "host": "127.0.0.1",
                "port": port,
                "models": [
                    {
                        "model": str(model),
                        "model_alias": "q8_0",
                        "n_ctx": 2048,
                        "n_threads": threads,
                        "n_threads_batch": threads,
                    }
                ],
            }
        )
    )
    return launch_llama_cpp(config, log)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="articles per side (latency)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / "summarize_bench.json")
    args = parser.parse_args()

    from engine.gguf_merged import merged_gguf
    from engine.selfcheck import cpu_description
    from engine.summarize import NEW_TOKENS
    from specialist.adapters import AdapterRegistry
    from specialist.models import load_tokenizer
    from specialist.prompt import render, summary_request
    from specialist.settings import load_settings

    scratch = Path(tempfile.mkdtemp(prefix="summarize-bench-"))
    docs = scratch / "docs"
    docs.mkdir()
    (docs / "Rhine.md").write_text((XQUAD / "Rhine.md").read_text())
    env = {
        "SPECIALIST_HOME": str(scratch / "home"),
        "SPECIALIST_ENGINE": "llama-cpp",
        "SPECIALIST_DOCS_DIRS": json.dumps([str(docs)]),
        "SPECIALIST_THREADS": str(args.threads),
        "SPECIALIST_GENERATION_WORKERS": "4",
        "SPECIALIST_GENERATION_QUEUE": "16",
    }
    os.environ.update(env)
    settings = load_settings()
    registry = AdapterRegistry(settings)
    registry.ensure_default()
    version = registry.current()
    weights = merged_gguf(settings, version, registry.path(version))
    tokenizer = load_tokenizer(settings)
    texts = articles()[: args.repeats]
    long_text = words_of(sorted(p.stem for p in XQUAD.glob("*.md")), LONG_WORDS)

    engine = start_llama_server(weights, 8791, args.threads, scratch / "llama.log")
    try:
        base_rows = [
            baseline(
                "http://127.0.0.1:8791",
                render(tokenizer, summary_request(t, "medium")),
                NEW_TOKENS["medium"],
            )
            for t in texts
        ]
    finally:
        engine.terminate()
        engine.wait(timeout=30)
    url, service = start_service(8792)
    try:
        ours(url, texts[0])  # warm: the first request pays nothing the others do not
        our_rows = [ours(url, t) for t in texts]
        long_row = ours(url, long_text)
        alone = concurrent(url, (texts * 2)[:8], 1)
        together = concurrent(url, (texts * 2)[:8], 4)
    finally:
        service.terminate()
        service.wait(timeout=60)
    name, flags = cpu_description()
    result = {
        "machine": {
            "cpu": name,
            "amx": any(f.startswith("amx") for f in flags),
            "threads": args.threads,
        },
        "weights": weights.name,
        "article_words": [len(t.split()) for t in texts],
        "baseline_llama_cpp_server": latency(base_rows),
        "ours_summarize": latency(our_rows),
        "p50_vs_baseline": round(
            latency(our_rows)["p50_total_s"] / latency(base_rows)["p50_total_s"], 2
        ),
        "long_document": {"words": len(long_text.split()), **long_row},
        "concurrency": {
            "c1": alone,
            "c4": together,
            "c4_vs_c1": round(together["summaries_per_s"] / alone["summaries_per_s"], 2),
        },
        "rows": {"baseline": base_rows, "ours": our_rows},
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"CPU {name}, {args.threads} threads, weights {weights.name}")
    print("| ~700-word article, medium | p50 total s | p50 first text s | mean words |")
    print("| --- | ---: | ---: | ---: |")
    for label, key in (
        ("llama.cpp server, same prompt", "baseline_llama_cpp_server"),
        ("ours, POST /summarize", "ours_summarize"),
    ):
        row = result[key]
        print(f"| {label} | {row['p50_total_s']} | {row['p50_ttft_s']} | {row['mean_words']} |")
    print(f"p50 ours / llama.cpp: {result['p50_vs_baseline']}x")
    print(
        f"{result['long_document']['words']} words: {long_row['parts']} parts, "
        f"{long_row['model_calls']} calls, {long_row['total_s']} s, "
        f"{len(long_row['progress'])} progress events"
    )
    print(f"c=4 vs c=1 summaries/s: {result['concurrency']['c4_vs_c1']}x")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

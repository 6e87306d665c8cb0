"""Latency of /ask against a naive baseline, on the shipped XQuAD corpus.

Ours: the real service (``specialist serve`` in its own process, as users run it; answers streamed
over loopback HTTP) with the current adapter merged, the prompt token budget and the engine and
reader of the environment: ``SPECIALIST_ENGINE=llama-cpp`` (continuous batching on llama.cpp) or
``local`` (transformers in ``SPECIALIST_SERVE_DTYPE``, a bounded pool splitting torch threads
among the answers running); ``SPECIALIST_READER=generate`` to time generated answers. The
service's peak RSS is recorded after each concurrency. Baseline: the same model (adapter unmerged, float32) and the same prompt template over the
same top-k passages (no budget), through a plain ``transformers.pipeline("text-generation")`` with
torch's default threads; it cannot stream, so its time to first token is its total time. Both
run 50 XQuAD questions at concurrency 1 and 4. An ablation on a few questions then switches our
optimizations on one at a time.

    .venv/bin/python bench/ask_bench.py            # full run, writes bench/results/ask_bench.json
    SPECIALIST_ENGINE=llama-cpp SPECIALIST_READER=generate .venv/bin/python bench/ask_bench.py
    .venv/bin/python bench/ask_bench.py --questions 8 --concurrency 1   # quick look
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import httpx
import torch

from engine.fresh_thread import on_fresh_thread
from engine.threads import thread_share
from service.cli import parse_sse
from specialist.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent
QUESTIONS = ROOT / "ask_questions.json"
RESULTS = ROOT / "results"
DEFAULT_THREADS = torch.get_num_threads()


def threads_per_answer(settings: Settings, concurrency: int) -> int:
    """Torch threads per answer in the service with ``concurrency`` clients (the pool's rule)."""
    return thread_share(settings.threads, min(concurrency, settings.generation_workers))


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank), in seconds."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def summarize(rows: list[dict], wall: float) -> dict:
    """p50/p95 of total and first-token latency, plus answer quality."""
    ok = [r for r in rows if r["status"] == 200]
    totals = [r["total_s"] for r in ok]
    firsts = [r["ttft_s"] for r in ok]
    return {
        "requests": len(rows),
        "ok": len(ok),
        "p50_total_s": round(pct(totals, 50), 3),
        "p95_total_s": round(pct(totals, 95), 3),
        "p50_ttft_s": round(pct(firsts, 50), 3),
        "p95_ttft_s": round(pct(firsts, 95), 3),
        "mean_tokens": round(statistics.mean(r.get("tokens", 0) for r in ok), 1),
        "throughput_qps": round(len(ok) / wall, 3),
        "contains_gold": round(statistics.mean(r["contains_gold"] for r in ok), 3),
        "cites_right_article": round(statistics.mean(r.get("cites_right", False) for r in ok), 3),
        "not_covered": sum(r.get("not_covered", False) for r in ok),
    }


def same_answers(alone: list[dict], together: list[dict]) -> dict:
    """How many answers are identical when asked alone and 4 at once, and the ones that differ."""
    by_id = {row["id"]: row["answer"] for row in together}
    differ = [
        {"id": row["id"], "alone": row["answer"], "together": by_id[row["id"]]}
        for row in alone
        if by_id.get(row["id"]) != row["answer"]
    ]
    return {"identical": len(alone) - len(differ), "of": len(alone), "differing": differ}


def run_concurrent(fn, questions: list[dict], concurrency: int) -> tuple[list[dict], float]:
    """Run ``fn`` over the questions with ``concurrency`` clients; returns rows and wall time."""
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        rows = list(pool.map(fn, questions))
    return rows, time.perf_counter() - started


# --- ours: the real service over HTTP -------------------------------------------------------


def start_service(port: int) -> tuple[str, subprocess.Popen]:
    """Run ``specialist serve`` in its own process, as users run it; returns (url, process)."""
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "specialist", "serve", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(url + "/ready", timeout=5).status_code == 200:
                return url, process
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    process.terminate()
    raise SystemExit("the service did not become ready (its log is above)")


def peak_rss_mb(pid: int) -> float:
    """The process's largest resident set so far (``VmHWM``), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far, all its threads together."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ask_http(url: str, top_k: int, max_new_tokens: int):
    """One streamed /ask, timed from the client side."""

    def ask(q: dict) -> dict:
        body = {"question": q["question"], "top_k": top_k, "max_new_tokens": max_new_tokens}
        started = time.perf_counter()
        ttft = None
        tokens = 0
        done: dict = {}
        status = 0
        with (
            httpx.Client(timeout=600) as client,
            client.stream("POST", url + "/ask", json={**body, "stream": True}) as response,
        ):
            status = response.status_code
            for kind, data in parse_sse(response.iter_lines()):
                if kind == "token":
                    tokens += 1
                    ttft = ttft or time.perf_counter() - started
                elif kind == "done":
                    done = data
        total = time.perf_counter() - started
        answer = done.get("answer", "")
        return {
            "id": q["id"],
            "status": status,
            "ttft_s": ttft or total,
            "total_s": total,
            "tokens": tokens,
            "answer": answer,
            "contains_gold": q["answer"].lower() in answer.lower(),
            "cites_right": any(c["source"] == q["source"] for c in done.get("citations", [])),
            "not_covered": done.get("timings_ms", {}).get("generate", 1) < 1,
            "server_ms": done.get("timings_ms"),
        }

    return ask


# --- baseline: a plain text-generation pipeline ----------------------------------------------


def naive_pipeline(settings: Settings):
    """Same model and adapter, float32, adapter not merged, through ``pipeline``."""
    from transformers import pipeline

    from engine.loader import load_specialist

    fp32 = settings.model_copy(update={"serve_dtype": "float32", "engine": "local"})
    specialist = load_specialist(fp32, merge=False)
    generator = pipeline("text-generation", model=specialist.model, tokenizer=specialist.tokenizer)
    return generator, specialist


def full_prompt(index, tokenizer, question: str, top_k: int) -> str:
    """The shared template over the untrimmed top-k passages."""
    from engine.answering import Numbered, build_prompt

    hits = index.search(question, k=top_k)
    return build_prompt(
        tokenizer, question, [Numbered(i + 1, h, h.text) for i, h in enumerate(hits)]
    )


def ask_naive(generator, index, top_k: int, max_new_tokens: int):
    """One baseline answer; without streaming the first token arrives with the last."""

    def ask(q: dict) -> dict:
        started = time.perf_counter()
        prompt = full_prompt(index, generator.tokenizer, q["question"], top_k)
        out = generator(
            prompt, max_new_tokens=max_new_tokens, do_sample=False, return_full_text=False
        )
        total = time.perf_counter() - started
        answer = out[0]["generated_text"].strip()
        return {
            "id": q["id"],
            "status": 200,
            "ttft_s": total,
            "total_s": total,
            "tokens": len(generator.tokenizer(answer).input_ids),
            "answer": answer,
            "contains_gold": q["answer"].lower() in answer.lower(),
        }

    return ask


# --- ablation: one optimization at a time ----------------------------------------------------


def ablation(settings: Settings, index, questions: list[dict], top_k: int, max_new_tokens: int):
    """Mean latency with our streaming loop as each optimization is added, on few questions."""
    from engine.answering import build_prompt, fit_passages
    from engine.generate import stream_tokens
    from engine.loader import load_specialist

    def timed(model, tokenizer, prompt_of, threads: int) -> dict:
        torch.set_num_threads(threads)
        totals, firsts = [], []
        for q in questions:
            started = time.perf_counter()
            prompt = prompt_of(tokenizer, q["question"])
            first = None
            for _ in stream_tokens(model, tokenizer, prompt, max_new_tokens):
                first = first or time.perf_counter() - started
            total = time.perf_counter() - started
            totals.append(total)
            firsts.append(first or total)
        return {
            "mean_total_s": round(statistics.mean(totals), 3),
            "mean_ttft_s": round(statistics.mean(firsts), 3),
        }

    def untrimmed(tokenizer, question):
        return full_prompt(index, tokenizer, question, top_k)

    def budgeted(tokenizer, question, passage_words=0):
        hits = index.search(question, k=top_k)
        passages = fit_passages(
            hits, tokenizer, settings.prompt_token_budget, question, passage_words
        )
        return build_prompt(tokenizer, question, passages)

    def focused(tokenizer, question):
        return budgeted(tokenizer, question, settings.passage_words)

    settings = settings.model_copy(update={"engine": "local"})  # the steps are transformers'
    fp32 = settings.model_copy(update={"serve_dtype": "float32"})
    threads = threads_per_answer(settings, 1)
    steps = {}
    unmerged = load_specialist(fp32, merge=False)
    steps["fp32, adapter unmerged, full prompt, default threads"] = timed(
        unmerged.model, unmerged.tokenizer, untrimmed, DEFAULT_THREADS
    )
    del unmerged
    merged = load_specialist(fp32, merge=True)
    steps["+ adapter merged"] = timed(merged.model, merged.tokenizer, untrimmed, DEFAULT_THREADS)
    steps[f"+ threads adapted to load ({threads} when alone)"] = timed(
        merged.model, merged.tokenizer, untrimmed, threads
    )
    del merged
    served = load_specialist(settings)
    steps[f"+ {settings.serve_dtype} weights"] = timed(
        served.model, served.tokenizer, untrimmed, threads
    )
    steps[f"+ prompt budget {settings.prompt_token_budget} tokens"] = timed(
        served.model, served.tokenizer, budgeted, threads
    )
    steps[f"+ passages focused to {settings.passage_words} words"] = timed(
        served.model, served.tokenizer, focused, threads
    )
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--top-k", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    parser.add_argument(
        "--ablation", type=int, default=6, help="questions for the ablation (0: skip)"
    )
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument(
        "--baseline-concurrency",
        type=int,
        nargs="+",
        default=None,
        help="concurrencies the baseline runs at (default: those of --concurrency)",
    )
    parser.add_argument("--port", type=int, default=8765, help="for the service under test")
    parser.add_argument("--out", type=Path, default=RESULTS / "ask_bench.json")
    args = parser.parse_args()

    from retrieval.indexer import build_index
    from retrieval.search import open_index
    from specialist.adapters import AdapterRegistry
    from specialist.models import load_embedder

    settings = load_settings()
    questions = json.loads(QUESTIONS.read_text())["questions"][: args.questions]
    # Always (incrementally) index: an index built with other chunking or BM25 settings would
    # make the benchmark measure stale retrieval. Unchanged files cost nothing. On a thread of
    # its own, like the service's reindexing, so no OpenMP team outlives it.
    print(on_fresh_thread(lambda: build_index(settings, settings.docs_dirs[0])).summary())
    adapter = AdapterRegistry(settings).current()
    print(
        f"adapter: {adapter or 'none (base model only)'}; threads {settings.threads} "
        f"(torch default {DEFAULT_THREADS}); {len(questions)} questions"
    )

    results: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_at_start": os.getloadavg(),
        },
        "settings": {
            "base_model": settings.base_model,
            "adapter": adapter,
            "threads": settings.threads,
            "threads_per_answer": {
                f"c{c}": threads_per_answer(settings, c) for c in args.concurrency
            },
            "serve_dtype": settings.serve_dtype,
            "engine": settings.engine,
            "engine_weights": settings.engine_weights,
            "engine_slots": settings.engine_slots,
            "prefill_chunk": settings.prefill_chunk,
            "reader": settings.reader,
            "prompt_token_budget": settings.prompt_token_budget,
            "generation_workers": settings.generation_workers,
            "top_k": args.top_k,
            "max_new_tokens": args.max_new_tokens,
            "questions": len(questions),
        },
        "ours": {},
        "baseline": {},
        "rows": {},
    }

    url, service = start_service(args.port)
    try:
        ask = ask_http(url, args.top_k, args.max_new_tokens)
        ask(questions[0])  # warm-up: first-call allocations are not what users see
        for c in args.concurrency:
            used = cpu_seconds(service.pid)
            rows, wall = run_concurrent(ask, questions, c)
            results["ours"][f"c{c}"] = summarize(rows, wall)
            results["ours"][f"c{c}"]["service_peak_rss_mb"] = round(peak_rss_mb(service.pid))
            # how many of the machine's cores the service kept busy: throughput can grow with
            # concurrency only as far as idle cores (or cheaper batched work) allow
            busy = (cpu_seconds(service.pid) - used) / wall
            results["ours"][f"c{c}"]["service_cores_busy"] = round(busy, 2)
            results["rows"][f"ours_c{c}"] = rows
            print(f"ours c={c}: {results['ours'][f'c{c}']}", flush=True)
    finally:
        service.terminate()
        service.wait(60)
    if {"ours_c1", "ours_c4"} <= results["rows"].keys():
        results["answers_c1_vs_c4"] = same_answers(
            results["rows"]["ours_c1"], results["rows"]["ours_c4"]
        )
        print(f"answers alone vs 4 at once: {results['answers_c1_vs_c4']}", flush=True)
    index = open_index(settings, load_embedder(settings))

    if not args.skip_baseline:
        generator, _ = naive_pipeline(settings)
        torch.set_num_threads(DEFAULT_THREADS)
        naive = ask_naive(generator, index, args.top_k, args.max_new_tokens)
        naive(questions[0])
        for c in args.baseline_concurrency or args.concurrency:
            rows, wall = run_concurrent(naive, questions, c)
            results["baseline"][f"c{c}"] = summarize(rows, wall)
            results["rows"][f"baseline_c{c}"] = rows
            print(f"baseline c={c}: {results['baseline'][f'c{c}']}", flush=True)
        del generator
    if args.ablation:
        results["ablation"] = ablation(
            settings, index, questions[: args.ablation], args.top_k, args.max_new_tokens
        )

    print(
        f"\n{'':<10}{'p50 total':>11}{'p95 total':>11}{'p50 TTFT':>10}{'p95 TTFT':>10}{'q/s':>7}"
        f"{'gold':>7}{'cites':>7}"
    )
    for name in ("ours", "baseline"):
        for c, row in results[name].items():
            print(
                f"{name + ' ' + c:<10}{row['p50_total_s']:>10.2f}s{row['p95_total_s']:>10.2f}s"
                f"{row['p50_ttft_s']:>9.2f}s{row['p95_ttft_s']:>9.2f}s{row['throughput_qps']:>7.2f}"
                f"{row['contains_gold']:>7.2f}{row['cites_right_article']:>7.2f}"
            )
    ratios = {}
    for c in results["ours"]:
        if c in results["baseline"]:
            ours, base = results["ours"][c], results["baseline"][c]
            ratios[c] = {
                "p50_total": round(base["p50_total_s"] / ours["p50_total_s"], 2),
                "p50_ttft": round(base["p50_ttft_s"] / ours["p50_ttft_s"], 2),
            }
            print(
                f"speed-up {c}: p50 total x{ratios[c]['p50_total']}, p50 TTFT x{ratios[c]['p50_ttft']}"
            )
    results["speedup_vs_baseline"] = ratios
    if {"c1", "c4"} <= results["ours"].keys():
        ours = results["ours"]
        results["c4_vs_c1_throughput"] = round(
            ours["c4"]["throughput_qps"] / ours["c1"]["throughput_qps"], 2
        )
        print(
            f"answers/s at c4 vs c1: x{results['c4_vs_c1_throughput']} (cores busy "
            f"{ours['c1']['service_cores_busy']} at c1, {ours['c4']['service_cores_busy']} at c4, "
            f"of {os.cpu_count()})"
        )
    for step, row in results.get("ablation", {}).items():
        print(
            f"ablation  {step:<55} total {row['mean_total_s']:.2f}s  TTFT {row['mean_ttft_s']:.2f}s"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

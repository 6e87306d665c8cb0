"""Prefill and decode speed of the engines on the same RAG prompts, same adapter, same threads.

- transformers: the in-process specialist of ``SPECIALIST_ENGINE=local`` (adapter merged,
  ``SPECIALIST_SERVE_DTYPE``), a KV-cache greedy loop;
- ours, llama-cpp: the in-process batched engine of ``SPECIALIST_ENGINE=llama-cpp``
  (:mod:`engine.batched`, the adapter folded into a ``SPECIALIST_ENGINE_WEIGHTS`` GGUF), one
  request at a time, prefill fed in ``SPECIALIST_PREFILL_CHUNK`` token steps;
- baseline, llama.cpp: llama-cpp-python's own ``Llama`` on the shipped SmolLM2 GGUF (Q4_1) with
  the same adapter exported to a GGUF LoRA (``engine.gguf_lora``), the engine
  ``SPECIALIST_ENGINE=openai`` serves from; prompt evaluated in one pass.

Each prompt is the generating reader's real prompt for an XQuAD question over the shipped index.
Every engine gets the same token ids, then exactly ``--tokens`` greedy tokens are decoded one at a
time (the stop rule is not applied, so all decode the same number). Also reported: how many
answers (cut by the stop rule) are identical to transformers'.

    .venv/bin/python bench/engine_bench.py          # writes bench/results/engine_bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch

from engine.answering import build_prompt, fit_passages
from engine.generate import AnswerText, stop_token_ids
from engine.gguf_lora import base_gguf, export_version
from engine.loader import Specialist, load_specialist
from specialist.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent
QUESTIONS = ROOT / "ask_questions.json"
RESULTS = ROOT / "results"


def prompts(settings: Settings, specialist: Specialist, count: int) -> list[str]:
    """The generating reader's prompts for the first ``count`` bench questions."""
    from retrieval.search import open_index
    from specialist.models import load_embedder

    index = open_index(settings, load_embedder(settings))
    if index is None:
        raise SystemExit("no index: run `specialist index corpora/xquad` first")
    rows = json.loads(QUESTIONS.read_text())["questions"][:count]
    texts = []
    for row in rows:
        hits = index.search(row["question"], k=4)
        passages = fit_passages(
            hits,
            specialist.tokenizer,
            settings.prompt_token_budget,
            row["question"],
            settings.passage_words,
        )
        texts.append(build_prompt(specialist.tokenizer, row["question"], passages))
    return texts


def answer_of(tokenizer, stops: set[int], ids: list[int]) -> str:
    """The answer the stop rule cuts from ``ids``."""
    answer = AnswerText(tokenizer, stops)
    text = ""
    for token in ids:
        text += answer.add(token)
        if answer.done:
            break
    return (text + answer.finish()).strip()


@torch.inference_mode()
def run_transformers(specialist: Specialist, ids: list[int], tokens: int) -> dict:
    """Prefill seconds, decode seconds per token and the greedy ids of the in-process model."""
    model = specialist.model
    started = time.perf_counter()
    out = model(input_ids=torch.tensor([ids]), use_cache=True, logits_to_keep=1)
    prefill = time.perf_counter() - started
    past, token = out.past_key_values, int(out.logits[0, -1].argmax())
    produced = [token]
    started = time.perf_counter()
    for _ in range(tokens - 1):
        out = model(input_ids=torch.tensor([[token]]), past_key_values=past, use_cache=True)
        past, token = out.past_key_values, int(out.logits[0, -1].argmax())
        produced.append(token)
    decode = time.perf_counter() - started
    return {"prefill_s": prefill, "decode_s_per_token": decode / (tokens - 1), "ids": produced}


def last_logits_argmax(llm) -> int:
    """The greedy next token after llama.cpp's last evaluated position."""
    import llama_cpp
    import numpy as np

    logits = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
    return int(np.argmax(np.ctypeslib.as_array(logits, shape=(llm.n_vocab(),))))


def run_llama_cpp(llm, ids: list[int], tokens: int) -> dict:
    """The same measurements with llama.cpp (greedy: the argmax of each step's logits)."""
    llm.reset()
    started = time.perf_counter()
    llm.eval(ids)
    prefill = time.perf_counter() - started
    token = last_logits_argmax(llm)
    produced = [token]
    started = time.perf_counter()
    for _ in range(tokens - 1):
        llm.eval([token])
        token = last_logits_argmax(llm)
        produced.append(token)
    decode = time.perf_counter() - started
    return {"prefill_s": prefill, "decode_s_per_token": decode / (tokens - 1), "ids": produced}


def run_batched(engine, ids: list[int], tokens: int) -> dict:
    """The same measurements through our batched engine: first token, then the rest."""
    started = time.perf_counter()
    stream = engine.generate(ids, tokens, ignore_end=True)
    produced = [next(stream)]
    prefill = time.perf_counter() - started
    started = time.perf_counter()
    produced.extend(stream)
    decode = time.perf_counter() - started
    return {"prefill_s": prefill, "decode_s_per_token": decode / (tokens - 1), "ids": produced}


def summary(rows: list[dict], prompt_tokens: list[int]) -> dict:
    """Medians over the prompts, and rates."""
    prefill = [r["prefill_s"] for r in rows]
    per_token = [r["decode_s_per_token"] for r in rows]
    rates = [n / r["prefill_s"] for n, r in zip(prompt_tokens, rows, strict=True)]
    return {
        "prefill_s_p50": round(statistics.median(prefill), 3),
        "prefill_tokens_per_s_p50": round(statistics.median(rates), 1),
        "decode_tokens_per_s_p50": round(1 / statistics.median(per_token), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--tokens", type=int, default=64, help="decoded per prompt, both engines")
    parser.add_argument("--threads", type=int, default=None, help="default: SPECIALIST_THREADS")
    parser.add_argument("--out", type=Path, default=RESULTS / "engine_bench.json")
    args = parser.parse_args()

    import llama_cpp

    overrides = {"threads": args.threads} if args.threads else {}
    settings = load_settings(engine="local", **overrides)
    threads = settings.threads
    specialist = load_specialist(settings)  # sets torch's threads
    if specialist.adapter_version is None:
        raise SystemExit("no adapter to compare: the registry is empty")
    llm = llama_cpp.Llama(
        str(base_gguf(settings)),
        lora_path=str(export_version(settings, specialist.adapter_version)),
        n_ctx=2048,
        n_batch=1024,
        n_threads=threads,
        n_threads_batch=threads,
        logits_all=False,
        verbose=False,
    )
    batched = load_specialist(settings.model_copy(update={"engine": "llama-cpp"})).batched
    assert batched is not None
    texts = prompts(settings, specialist, args.questions)
    stops = stop_token_ids(specialist.model, specialist.tokenizer)
    rows: dict[str, list[dict]] = {"transformers": [], "ours": [], "llama_cpp": []}
    lengths, same = [], {"ours": 0, "llama_cpp": 0}
    for text in texts:
        ids = specialist.tokenizer(text, add_special_tokens=False).input_ids
        lengths.append(len(ids))
        rows["transformers"].append(run_transformers(specialist, ids, args.tokens))
        rows["ours"].append(run_batched(batched, ids, args.tokens))
        rows["llama_cpp"].append(run_llama_cpp(llm, ids, args.tokens))
        reference = answer_of(specialist.tokenizer, stops, rows["transformers"][-1]["ids"])
        for name in same:
            same[name] += answer_of(specialist.tokenizer, stops, rows[name][-1]["ids"]) == reference
    batched.close()
    names = {
        "transformers": f"transformers ({settings.serve_dtype})",
        "ours": f"ours: llama-cpp batched ({settings.engine_weights} merged)",
        "llama_cpp": "llama.cpp (Q4_1 GGUF + LoRA)",
    }
    result = {
        "machine": {"cpu": platform.processor() or platform.machine(), "threads": threads},
        "prompts": len(texts),
        "prompt_tokens_p50": statistics.median(lengths),
        "decoded_tokens": args.tokens,
        "adapter": specialist.adapter_version,
        "prefill_chunk": settings.prefill_chunk,
        **{name: {"engine": names[name], **summary(rows[name], lengths)} for name in rows},
        "identical_answers_to_transformers": same,
    }
    for name in ("transformers", "ours"):
        for rate in ("decode", "prefill"):
            result[f"{rate}_ratio_{name}_to_llama_cpp"] = round(
                result[name][f"{rate}_tokens_per_s_p50"]
                / result["llama_cpp"][f"{rate}_tokens_per_s_p50"],
                2,
            )
    print(
        f"{len(texts)} RAG prompts (median {result['prompt_tokens_p50']} tokens), "
        f"{args.tokens} greedy tokens each, {threads} threads, adapter {specialist.adapter_version}"
    )
    print(
        f"{'engine':<44}{'prefill tok/s':>14}{'prefill s':>11}{'decode tok/s':>14}{'x llama.cpp':>12}"
    )
    for name in rows:
        row = result[name]
        ratio = row["decode_tokens_per_s_p50"] / result["llama_cpp"]["decode_tokens_per_s_p50"]
        print(
            f"{names[name]:<44}{row['prefill_tokens_per_s_p50']:>14}{row['prefill_s_p50']:>11}"
            f"{row['decode_tokens_per_s_p50']:>14}{ratio:>11.2f}x"
        )
    print(f"answers identical to transformers': {same} of {len(texts)}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

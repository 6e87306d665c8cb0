"""How the judge's cost grows with threads and with batching, the default reader's model work.

The extractive reader's only model work per answer is the judge: one forward pass over the
question after each of the scorer's shortlisted sentences and after no passage (5 short
sequences, ~250 tokens). Whether concurrent answers can share that work decides how far
throughput can grow with concurrency: this times one answer's batch (5 sequences) against two and
four answers' batched together, at 1 and 2 threads, with the shipped specialist in the serving
dtype. Baseline: one answer's batch at 1 thread.

    .venv/bin/python bench/judge_bench.py      # writes bench/results/judge_bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

from engine.judge import JUDGE_PROMPT, question_log_probability
from engine.loader import load_specialist
from specialist.settings import load_settings

SENTENCE = (
    "The Panthers defense gave up just 308 points, ranking sixth in the league, while also "
    "leading the NFL in interceptions with 24."
)
QUESTION = "How many points did the Panthers defense surrender?"
RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS / "judge_bench.json")
    args = parser.parse_args()
    settings = load_settings()
    specialist = load_specialist(settings)
    rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for answers in (1, 2, 4):
            texts = ([SENTENCE] * 4 + [""]) * answers
            question_log_probability(specialist, QUESTION, texts)
            started = time.perf_counter()
            for _ in range(args.repeats):
                question_log_probability(specialist, QUESTION, texts)
            seconds = (time.perf_counter() - started) / args.repeats
            tokens = sum(
                len(
                    specialist.tokenizer(JUDGE_PROMPT.format(sentence=t) + " " + QUESTION).input_ids
                )
                for t in texts
            )
            rows.append(
                {
                    "threads": threads,
                    "answers": answers,
                    "sequences": len(texts),
                    "tokens": tokens,
                    "ms": round(1000 * seconds, 1),
                    "tokens_per_s": round(tokens / seconds),
                }
            )
    base = rows[0]["tokens_per_s"]
    print(f"serve dtype {settings.serve_dtype}; baseline: one answer's batch at 1 thread")
    print(f"{'threads':>8}{'answers':>8}{'tokens':>8}{'ms':>9}{'tokens/s':>10}{'vs base':>9}")
    for row in rows:
        row["vs_baseline"] = round(row["tokens_per_s"] / base, 2)
        print(
            f"{row['threads']:>8}{row['answers']:>8}{row['tokens']:>8}{row['ms']:>9}"
            f"{row['tokens_per_s']:>10}{row['vs_baseline']:>8}x"
        )
    result = {"serve_dtype": settings.serve_dtype, "cpus": os.cpu_count(), "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

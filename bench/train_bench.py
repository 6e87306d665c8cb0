"""Training throughput and memory of the default config: samples/s and peak RSS per thread count.

Each configuration runs in a fresh subprocess (so its peak RSS is its own): load the base model,
wrap it with the config's LoRA, run a few optimizer steps on the shipped training data and time
them after one warm-up step. The baseline is float32 at 1 thread; bfloat16 autocast and 2 threads
are compared against it in the same run.

    .venv/bin/python bench/train_bench.py [--config configs/default.json] [--steps 4]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_DATA = [
    ROOT / "corpora" / "training" / "dialogsum_train.jsonl",
    ROOT / "corpora" / "training" / "raft_train.jsonl",
]
VARIANTS = [(1, "float32"), (1, "bfloat16"), (2, "bfloat16")]
BASELINE = (1, "float32")


def measure(config_path: Path, data: list[Path], threads: int, dtype: str, steps: int) -> dict:
    """Time ``steps`` optimizer steps of the real training code in this process."""
    import random

    import torch
    from transformers import get_cosine_schedule_with_warmup

    from specialist.models import load_base_model
    from specialist.settings import load_settings
    from training.batches import collate, encode
    from training.config import load_config
    from training.data import read_examples
    from training.trainer import autocast, make_peft_model, token_loss

    settings = load_settings(threads=threads)
    config = load_config(config_path, dtype=dtype)
    model, tokenizer = load_base_model(settings)
    examples = [example for path in data for example in read_examples(path)]
    random.Random(0).shuffle(examples)
    encoded = [
        e for e in (encode(x, tokenizer, config.max_seq_length) for x in examples[:400]) if e
    ]
    model = make_peft_model(model, config)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate)
    scheduler = get_cosine_schedule_with_warmup(optimizer, 0, 1000)
    cursor, timings, tokens = 0, [], 0
    for step in range(steps + 1):
        started = time.perf_counter()
        for _ in range(config.grad_accumulation):
            items = encoded[cursor : cursor + config.batch_size]
            cursor += config.batch_size
            batch = collate(items, tokenizer.pad_token_id)
            with autocast(config):
                loss, count = token_loss(model, batch)
            (loss / max(count, 1)).backward()
            if step:
                tokens += int(batch["attention_mask"].sum())
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        if step:
            timings.append(time.perf_counter() - started)
    seconds = sum(timings)
    return {
        "threads": threads,
        "dtype": dtype,
        "steps": steps,
        "effective_batch": config.effective_batch,
        "seconds_per_step": round(seconds / steps, 3),
        "samples_per_s": round(steps * config.effective_batch / seconds, 3),
        "tokens_per_s": round(tokens / seconds, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> int:
    """Run every variant in a subprocess, print a table and write JSON to bench/results/."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "default.json")
    parser.add_argument("--data", type=Path, nargs="+", default=DEFAULT_DATA)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--one", nargs=2, metavar=("THREADS", "DTYPE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        result = measure(args.config, args.data, int(args.one[0]), args.one[1], args.steps)
        print(json.dumps(result))
        return 0
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    rows = []
    for threads, dtype in VARIANTS:
        command = [sys.executable, __file__, "--config", str(args.config), "--data"]
        command += [str(path) for path in args.data]
        command += ["--steps", str(args.steps), "--one", str(threads), dtype]
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{threads} thread(s) {dtype} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
            return 1
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    baseline = next(r for r in rows if (r["threads"], r["dtype"]) == BASELINE)
    print(
        f"{'threads':>7} {'dtype':>9} {'s/step':>7} {'samples/s':>9} {'tok/s':>7} "
        f"{'peak RSS MiB':>12} {'vs baseline':>11}"
    )
    for row in rows:
        row["speedup_vs_baseline"] = round(row["samples_per_s"] / baseline["samples_per_s"], 2)
        print(
            f"{row['threads']:>7} {row['dtype']:>9} {row['seconds_per_step']:>7} "
            f"{row['samples_per_s']:>9} {row['tokens_per_s']:>7} {row['peak_rss_mib']:>12} "
            f"{row['speedup_vs_baseline']:>10}x"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    report = {
        "benchmark": "train_bench",
        "created": stamp,
        "config": str(
            args.config.relative_to(ROOT) if args.config.is_relative_to(ROOT) else args.config
        ),
        "baseline": {"threads": BASELINE[0], "dtype": BASELINE[1]},
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
        "results": rows,
    }
    out = RESULTS / f"train_{stamp}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

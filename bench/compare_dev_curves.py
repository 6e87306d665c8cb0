"""Dev-loss curves of adapter runs side by side: one PNG and a table of the shared steps.

Each run is a ``train_log.jsonl`` written with an adapter version (its ``dev_loss`` rows). The first
run is the baseline; the table gives every other run's difference from it at the steps both
evaluated.

    .venv/bin/python bench/compare_dev_curves.py \\
        --run "hand-written loop"=adapters/default/train_log.jsonl \\
        --run "HF Trainer, 2 DDP"=bench/results/retrain_trainer/train_log.jsonl \\
        --out bench/results/retrain_trainer/dev_loss.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def dev_curve(log: Path) -> dict[int, float]:
    """Step -> dev loss of one run."""
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return {int(row["step"]): float(row["dev_loss"]) for row in rows if "dev_loss" in row}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--run", action="append", required=True, metavar="LABEL=LOG", help="baseline first"
    )
    parser.add_argument("--out", type=Path, required=True, help="the PNG to write")
    args = parser.parse_args()
    runs = {}
    for item in args.run:
        label, _, path = item.partition("=")
        runs[label] = dev_curve(Path(path))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4), dpi=100)
    for label, curve in runs.items():
        steps = sorted(curve)
        axes.plot(steps, [curve[s] for s in steps], "o-", label=label)
    axes.set_xlabel("optimizer step (global batch 8)")
    axes.set_ylabel("dev loss per completion token")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out)
    plt.close(figure)

    (base_label, base), *others = runs.items()
    for label, curve in others:
        shared = sorted(set(base) & set(curve))
        print(f"{'step':>6}{base_label[:24]:>26}{label[:24]:>26}{'difference':>12}")
        for step in shared:
            print(
                f"{step:>6}{base[step]:>26.4f}{curve[step]:>26.4f}{curve[step] - base[step]:>+12.4f}"
            )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

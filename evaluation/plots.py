"""The report's figures: one bar chart per task, the latency distribution and the loss curve."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from retrieval.loaders import jsonl_lines
from training.plot import plot_loss_curve

COLORS = ("#636363", "#bdbdbd", "#6baed6", "#fdae6b", "#fd8d3c", "#e6550d", "#31a354")
QA_METRICS = (
    ("contains_gold", "answer contains gold"),
    ("token_f1", "token F1"),
    ("citation_correct", "citation correct"),
    ("abstention_withheld", "abstains when answer withheld"),
)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def grouped_bars(
    path: Path,
    title: str,
    groups: Sequence[str],
    series: dict[str, Sequence[float | None]],
    ylabel: str,
) -> None:
    """Bars of several series (systems) for each group (metric); a missing value leaves a gap."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(9, 4.5), dpi=100)
    width = 0.8 / max(1, len(series))
    for number, (name, values) in enumerate(series.items()):
        xs = [g + (number - (len(series) - 1) / 2) * width for g in range(len(groups))]
        present = [(x, v) for x, v in zip(xs, values, strict=True) if v is not None]
        if not present:
            continue
        bars = axes.bar(
            [x for x, _ in present],
            [v for _, v in present],
            width,
            label=name,
            color=COLORS[number % len(COLORS)],
        )
        axes.bar_label(bars, fmt="%.1f", fontsize=7, padding=2)
    axes.set_xticks(range(len(groups)), groups)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(axis="y", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def latency_plot(path: Path, latencies: dict[str, Sequence[float]]) -> None:
    """Per-answer latency of each system as box plots (median, quartiles, outliers)."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(9, 4), dpi=100)
    names = list(latencies)
    axes.boxplot([latencies[name] for name in names], orientation="horizontal", showfliers=True)
    axes.set_yticks(range(1, len(names) + 1), names)
    axes.set_xlabel("seconds per answer (retrieval + generation)")
    axes.set_title("latency per answer")
    axes.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def loss_curve(adapter_folder: Path | None, path: Path) -> bool:
    """The adapter's training loss curve: its saved PNG, else redrawn from its training log."""
    if adapter_folder is None:
        return False
    saved = adapter_folder / "loss_curve.png"
    if saved.is_file():
        shutil.copyfile(saved, path)
        return True
    log = adapter_folder / "train_log.jsonl"
    if not log.is_file():
        return False
    history = [json.loads(line) for _, line in jsonl_lines(log.read_text(encoding="utf-8"))]
    plot_loss_curve(history, path)
    return True


def draw_all(report: dict[str, Any], latencies: dict[str, list[float]], folder: Path) -> list[str]:
    """Every figure of ``report`` into ``folder``; returns the file names written."""
    written = []
    systems = report["qa"]["systems"]
    labels = report["systems"]
    grouped_bars(
        folder / "qa.png",
        f"grounded QA on {report['qa']['questions']} held-out questions (%)",
        [label for _, label in QA_METRICS],
        {labels[key]: [systems[key].get(m) for m, _ in QA_METRICS] for key in systems},
        "percent",
    )
    written.append("qa.png")
    for task, figure in (("summaries", "summaries.png"), ("news", "news.png")):
        if task not in report:
            continue
        models = report[task]["models"]
        grouped_bars(
            folder / figure,
            f"summarization ({task}) on {report[task]['documents']} documents (ROUGE x100)",
            ["ROUGE-1", "ROUGE-2", "ROUGE-L"],
            {
                name: [scores[m] for m in ("rouge1", "rouge2", "rougeL")]
                for name, scores in models.items()
            },
            "ROUGE F1 x100",
        )
        written.append(figure)
    rows = report["retrieval"]["rows"]
    grouped_bars(
        folder / "retrieval.png",
        f"retrieval on {report['retrieval']['queries']} queries",
        ["nDCG@10", "Recall@10"],
        {method: [rows[method]["ndcg@10"], rows[method]["recall@10"]] for method in rows},
        "score",
    )
    written.append("retrieval.png")
    latency_plot(folder / "latency.png", {labels[key]: values for key, values in latencies.items()})
    written.append("latency.png")
    adapter = report["config"].get("adapter_folder")
    if loss_curve(Path(adapter) if adapter else None, folder / "loss_curve.png"):
        written.append("loss_curve.png")
    return written

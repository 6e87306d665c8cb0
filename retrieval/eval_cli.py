"""``specialist eval retrieval --beir PATH``: dense, BM25 and hybrid scores in one table + JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from specialist.settings import load_settings

METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10")


def register_eval(kinds: argparse._SubParsersAction) -> None:
    """Attach ``eval retrieval``."""
    parser = kinds.add_parser("retrieval", help="nDCG@10, Recall@10/100, MRR@10 on a BEIR set")
    parser.add_argument("--beir", type=Path, required=True, help="BEIR folder (corpus.jsonl …)")
    parser.add_argument("--split", default="test", help="qrels split (default test)")
    parser.add_argument("--out", type=Path, help="JSON file (default <home>/eval/retrieval-…)")
    parser.add_argument(
        "--sweep",
        action="store_true",
        help="also score a grid of fusion weights and k (run it on the train split only)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate, print the table, write the JSON."""
    from retrieval.evaluate import evaluate_beir

    settings = load_settings()
    result = evaluate_beir(settings, args.beir, args.split, sweep=args.sweep)
    console = Console()
    table = Table(
        title=f"retrieval on {Path(result['dataset']).name} {args.split} "
        f"({result['queries']} queries, {result['chunks']} chunks)"
    )
    table.add_column("method")
    for metric in METRICS:
        table.add_column(metric, justify="right")
    for method, scores in result["rows"].items():
        table.add_row(method, *(f"{scores[m]:.4f}" for m in METRICS))
    console.print(table)
    console.print(
        "fusion: "
        + ", ".join(f"{k}={v}" for k, v in result["fusion"].items())
        + "; reranker: none (no PyPI package ships cross-encoder weights)"
    )
    if args.sweep:
        sweep = Table(title="fusion sweep (best first)")
        for column in ("dense_weight", "rrf_k", *METRICS):
            sweep.add_column(column, justify="right")
        for row in result["sweep"][:10]:
            sweep.add_row(
                str(row["dense_weight"]), str(row["rrf_k"]), *(f"{row[m]:.4f}" for m in METRICS)
            )
        console.print(sweep)
        lexical = Table(title="BM25 parameter sweep (best hybrid first)")
        for column in ("k1", "b", "bm25 ndcg@10", "hybrid ndcg@10"):
            lexical.add_column(column, justify="right")
        for row in result["bm25_sweep"][:8]:
            lexical.add_row(
                str(row["k1"]),
                str(row["b"]),
                f"{row['bm25_ndcg@10']:.4f}",
                f"{row['hybrid_ndcg@10']:.4f}",
            )
        console.print(lexical)
    out = (
        args.out
        or settings.home / "eval" / f"retrieval-{Path(result['dataset']).name}-{args.split}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    console.print(f"wrote {out}")
    return 0

"""``specialist eval all``: the side-by-side comparison from the command line."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markdown import Markdown

from evaluation.data import DEFAULT_DATA_DIR, SPLIT_FILE


def positive(text: str) -> int:
    """argparse type for a count of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def register_eval(kinds: argparse._SubParsersAction) -> None:
    """Attach ``eval all``."""
    parser = kinds.add_parser(
        "all",
        help="base/specialist x closed book/retrieval on held-out QA, summaries and retrieval",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help=f"folder with xquad/xquad.en.json, dialogsum/test.jsonl, scifact/ "
        f"(default {DEFAULT_DATA_DIR} when present)",
    )
    parser.add_argument("--squad", type=Path, help="SQuAD-layout JSON for grounded QA")
    parser.add_argument(
        "--summaries", type=Path, help="JSONL with dialogue|document and summary* fields"
    )
    parser.add_argument("--beir", type=Path, help="BEIR folder with a test split")
    parser.add_argument(
        "--news",
        type=Path,
        help="second summary set, news JSONL (default: the shipped CNN/DailyMail test slice)",
    )
    parser.add_argument(
        "--split-file",
        type=Path,
        default=SPLIT_FILE,
        help="article split from `specialist data raft`; its training articles are not asked",
    )
    parser.add_argument("--out", type=Path, help="report folder (default <home>/eval/all)")
    parser.add_argument("--limit", type=positive, help="at most N items per task (quick run)")
    parser.add_argument(
        "--withheld",
        type=positive,
        help="questions asked again with the answer withheld (default: every question asked)",
    )
    parser.add_argument("--adapter", help="adapter version (default: the active one)")
    parser.add_argument("--seed", type=int, default=0, help="question order seed (default 0)")
    parser.add_argument("--top-k", type=positive, default=4, help="passages per question")
    parser.add_argument("--max-new-tokens", type=positive, default=64, help="answer length cap")
    parser.add_argument(
        "--systems",
        help="comma-separated QA rows to run, e.g. extractive,product (default: every row)",
    )
    parser.add_argument(
        "--skip-summaries",
        action="store_true",
        help="leave out summarization, the longest part of a full run",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="reuse the parts of an earlier run in --out whose inputs are unchanged (after a kill, "
        "or when a new reader changes the product row alone)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Resolve the data, run everything, print the report."""
    from evaluation.data import resolve_data
    from evaluation.run import Options, evaluate_all
    from evaluation.systems import system_keys
    from specialist.settings import load_settings

    systems = system_keys(args.systems) if args.systems else Options.systems
    settings = load_settings()
    data = resolve_data(args.data_dir, args.squad, args.summaries, args.beir, args.news)
    out = args.out or settings.home / "eval" / "all"
    options = Options(
        limit=args.limit,
        withheld=args.withheld,
        adapter=args.adapter,
        seed=args.seed,
        top_k=args.top_k,
        max_new_tokens=args.max_new_tokens,
        split_file=args.split_file,
        resume=args.resume,
        systems=systems,
        summarize=not args.skip_summaries,
    )
    evaluate_all(settings, data, out, options)
    console = Console()
    console.print(Markdown((out / "report.md").read_text()))
    console.print(f"wrote {out / 'report.json'}, {out / 'report.md'} and figures")
    return 0

"""``specialist index DIR [--watch]`` and ``specialist search "query"``."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from specialist.errors import UserError
from specialist.settings import load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    """Attach the ``index`` and ``search`` subcommands."""
    index = subparsers.add_parser(
        "index", help="index a folder (incremental; a new version replaces the current one)"
    )
    index.add_argument(
        "folder",
        nargs="?",
        type=Path,
        help="folder to index (default: the first of SPECIALIST_DOCS_DIRS)",
    )
    index.add_argument(
        "--watch", action="store_true", help="keep the index current as files change"
    )
    index.add_argument("--quiet", action="store_true", help="no progress bars")
    index.set_defaults(handler=run_index)

    search = subparsers.add_parser("search", help="search the current index")
    search.add_argument("query", help="what to look for")
    search.add_argument("-k", type=int, default=5, help="number of passages (default 5)")
    search.add_argument(
        "--mode", choices=("hybrid", "dense", "bm25"), default="hybrid", help="search method"
    )
    search.add_argument("--source", help="only passages whose source path starts with this")
    search.set_defaults(handler=run_search)


def run_index(args: argparse.Namespace) -> int:
    """Index once, then (with ``--watch``) again after every burst of file changes."""
    from retrieval.indexer import build_index

    settings = load_settings()
    folder = args.folder or settings.docs_dirs[0]
    console = Console(stderr=True)
    report = build_index(settings, folder, progress=not args.quiet)
    print_report(console, report)
    if args.watch:
        from retrieval.watch import watch_folder

        def reindex() -> None:
            try:
                print_report(console, build_index(settings, folder, progress=not args.quiet))
            except UserError as exc:
                console.print(f"[yellow]not reindexed: {exc}[/]")

        console.print(f"watching {Path(folder).resolve()} (Ctrl-C stops)")
        watch_folder(Path(folder), reindex, ignore=settings.home)
    return 0


def print_report(console: Console, report) -> None:
    """The run's one-line summary and every skipped file with its reason."""
    console.print(report.summary())
    if report.skipped:
        table = Table(title="skipped files")
        table.add_column("file", overflow="fold")
        table.add_column("reason")
        for path, reason in report.skipped:
            table.add_row(path, reason)
        console.print(table)


def run_search(args: argparse.Namespace) -> int:
    """Print ranked passages with their source, scores and text."""
    from retrieval.search import open_index

    if args.k < 1:
        raise UserError("-k must be at least 1")
    if not args.query.strip():
        raise UserError("the query is empty")
    settings = load_settings()
    index = open_index(settings)
    if index is None:
        raise UserError("nothing is indexed yet; run `specialist index DIR` first")
    hits = index.retrieve(args.query, args.k, args.mode, args.source)
    console = Console()
    if not hits:
        console.print("no passage matches")
        return 0
    table = Table(title=f"{args.mode} search, index {index.version}")
    for column in ("#", "score", "dense", "bm25", "source", "passage"):
        table.add_column(column, overflow="fold")
    for rank, hit in enumerate(hits, 1):
        location = f"{hit.source}\n{hit.heading or hit.title} [{hit.start}:{hit.end}]"
        table.add_row(
            str(rank),
            f"{hit.score:.4f}",
            "-" if hit.dense_score is None else f"{hit.dense_score:.3f}",
            "-" if hit.bm25_score is None else f"{hit.bm25_score:.2f}",
            location,
            hit.text if len(hit.text) <= 400 else hit.text[:400] + "…",
        )
    console.print(table)
    return 0

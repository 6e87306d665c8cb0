"""``specialist models``: list the packaged models and prepare their cached copies."""

from __future__ import annotations

import argparse
import time

from rich.console import Console
from rich.table import Table

from specialist.models import BASE_MODELS, ensure_converted, model_statuses
from specialist.settings import load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    """Attach the ``models`` subcommand."""
    parser = subparsers.add_parser(
        "models", help="list models, their source packages, cache paths and readiness"
    )
    parser.add_argument(
        "--prepare",
        nargs="*",
        metavar="NAME",
        choices=sorted(BASE_MODELS),
        help="convert base models into the cache now (all of them when no name is given)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Prepare what was asked, then print one row per model."""
    settings = load_settings()
    console = Console()
    if args.prepare is not None:
        for name in args.prepare or sorted(BASE_MODELS):
            started = time.perf_counter()
            with console.status(f"preparing {name} (first conversion takes ~15-45 s)"):
                ensure_converted(settings, name)
            console.print(f"{name}: ready in {time.perf_counter() - started:.1f} s")
    table = Table(title=f"models (home: {settings.home})")
    for column in ("name", "role", "package", "version", "licence", "ready", "path", "note"):
        table.add_column(column, overflow="fold")
    for row in model_statuses(settings):
        table.add_row(
            row.name,
            row.role,
            row.package,
            row.version or "-",
            row.licence,
            "yes" if row.ready else "no",
            str(row.path or "-"),
            row.note,
        )
    console.print(table)
    return 0

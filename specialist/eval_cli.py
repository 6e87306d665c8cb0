"""``specialist eval KIND``: one ``eval`` command whose kinds come from several packages.

``retrieval`` adds ``eval retrieval``, ``training`` adds ``eval summarize`` and ``eval rag``,
``evaluation`` adds ``eval all`` and ``eval followups``; each contributes through a
``register_eval(eval_subparsers)`` function in the modules listed here.
"""

from __future__ import annotations

import argparse
import importlib

EVAL_MODULES: tuple[str, ...] = (
    "retrieval.eval_cli",
    "training.cli",
    "evaluation.cli",
    "evaluation.followups",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Attach ``eval`` and every package's evaluation kinds under it."""
    parser = subparsers.add_parser("eval", help="measure retrieval, summaries and answers")
    kinds = parser.add_subparsers(dest="eval_kind", required=True, metavar="KIND")
    for module in EVAL_MODULES:
        importlib.import_module(module).register_eval(kinds)

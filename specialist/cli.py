"""The ``specialist`` command: one entry point, one subcommand per user task.

Each package contributes its own subcommands through a ``register(subparsers)`` function in its
``cli`` module, so this file stays a thin dispatcher. Exit codes: 0 done, 1 failed, 2 bad input.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from specialist import __version__
from specialist.errors import UserError

COMMAND_MODULES = (
    "specialist.models_cli",
    "specialist.eval_cli",
    "service.cli",
    "service.chat_cli",
    "service.summarize_cli",
    "training.cli",
    "retrieval.cli",
    "engine.cli",
)


def build_parser() -> argparse.ArgumentParser:
    """Parser with every package's subcommands attached."""
    parser = argparse.ArgumentParser(
        prog="specialist",
        description="Retrieval plus a LoRA-tuned summarization specialist, served over HTTP.",
    )
    parser.add_argument("--version", action="version", version=f"specialist {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; bad input ends with one sentence on stderr and exit code 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.handler(args) or 0)
    except UserError as exc:
        print(f"specialist {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"specialist {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("SPECIALIST_DEBUG"):
            raise
        print(
            f"specialist {args.command}: failed: {type(exc).__name__}: {exc} "
            "(set SPECIALIST_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())

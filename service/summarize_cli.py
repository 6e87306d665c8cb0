"""``specialist summarize FILE | --source ID | --query TEXT``: a cited summary from the service.

The summary is asked of a running service (``POST /summarize``, streamed): the command shows a
progress bar while a long document is summarized part by part, then each sentence with its
``[n]`` markers as it passes the faithfulness guard, then the documents cited. ``--json`` prints
the whole response instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from specialist.errors import UserError
from specialist.settings import Settings, load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    """Attach the ``summarize`` subcommand."""
    parser = subparsers.add_parser(
        "summarize", help="summarize a file, an indexed source or the documents about a topic"
    )
    parser.add_argument("file", nargs="?", type=Path, help="a text file to summarize as it is")
    parser.add_argument("--source", help="a source id, as citations name it")
    parser.add_argument("--query", help="a topic: its documents are retrieved and summarized")
    parser.add_argument("--length", choices=("short", "medium", "long"), default="medium")
    parser.add_argument("--focus", help="what the summary should be about")
    parser.add_argument("--max-words", type=int, help="a word budget (10-2000)")
    parser.add_argument("--url", help="service address (default: http://HOST:PORT)")
    parser.add_argument("--json", action="store_true", help="print the raw JSON response")
    parser.set_defaults(handler=summarize)


def request_body(args: argparse.Namespace) -> dict:
    """The ``/summarize`` body for the arguments (exactly one of FILE, --source, --query)."""
    given = [name for name in ("file", "source", "query") if getattr(args, name)]
    if len(given) != 1:
        raise UserError("give exactly one of FILE, --source or --query")
    body: dict = {"length": args.length, "stream": True}
    if args.file:
        try:
            body["text"] = args.file.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise UserError(f"cannot read {args.file}: {exc.strerror}") from None
    else:
        body[given[0]] = getattr(args, given[0])
    if args.focus:
        body["focus"] = args.focus
    if args.max_words is not None:
        body["max_words"] = args.max_words
    return body


def summarize(args: argparse.Namespace) -> int:
    """Stream the summary: a progress bar for the parts, the sentences, then the documents."""
    settings = load_settings()
    result = stream_summary(settings, args.url, request_body(args), echo=not args.json)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print("\nSources:")
    for citation in result["citations"]:
        print(f"  [{citation['n']}] {citation['source']}  {citation['title']}")
    return 0


def stream_summary(settings: Settings, url: str | None, body: dict, echo: bool) -> dict:
    """POST ``body`` to ``/summarize`` and follow its events; return the final JSON."""
    from tqdm import tqdm

    from service.cli import service_events

    bar: tqdm | None = None
    try:
        for event, data in service_events(settings, url, "/summarize", body):
            if event == "progress" and echo and data["stage"] != "final":
                if bar is None:
                    bar = tqdm(unit="call", desc="summarizing", file=sys.stderr)
                bar.total = data["total"]
                bar.update(data["done"] - bar.n)
            elif event == "sentence" and echo:
                if bar is not None:
                    bar.close()
                    bar = None
                marks = "".join(f"[{n}]" for n in data["citations"])
                print(f"{data['text']} {marks}", end=" ", flush=True)
            elif event == "done":
                if echo:
                    print()
                return data
    finally:
        if bar is not None:
            bar.close()
    raise UserError("the service closed the stream before the summary was complete")

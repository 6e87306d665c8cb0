"""``specialist chat``: a conversation with the running service in the terminal.

Each line read from standard input is a question; follow-ups may lean on the earlier turns ("and
when did it end?"), because the whole conversation is sent to ``/v1/chat/completions`` each time,
as any OpenAI client would. The answer streams in, then its sources. End of input (ctrl-D) ends the
conversation with exit code 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import TextIO

from specialist.errors import UserError
from specialist.settings import Settings, load_settings

PROMPT = "you> "


def register(subparsers: argparse._SubParsersAction) -> None:
    """Attach the ``chat`` subcommand."""
    parser = subparsers.add_parser(
        "chat", help="talk with the running service: follow-up questions, streamed cited answers"
    )
    parser.add_argument("--url", help="service address (default: http://HOST:PORT)")
    parser.add_argument(
        "--model", default="specialist", help="model id from /v1/models (default: specialist)"
    )
    parser.set_defaults(handler=chat)


def chat(args: argparse.Namespace) -> int:
    """Read questions until end of input, answering each in the same conversation."""
    settings = load_settings()
    base = (args.url or f"http://{settings.host}:{settings.port}").rstrip("/")
    check_reachable(base)
    messages: list[dict[str, str]] = []
    interactive = sys.stdin.isatty()
    for line in questions(sys.stdin, interactive):
        messages.append({"role": "user", "content": line})
        answer = ask(settings, base, args.model, messages, sys.stdout)
        messages.append({"role": "assistant", "content": answer})
    if interactive:
        print()
    return 0


def unreachable(base: str, exc: Exception) -> UserError:
    """The one sentence a user gets when no service answers at ``base``."""
    return UserError(
        f"cannot reach the service at {base} ({exc}); start it with `specialist serve`"
    )


def check_reachable(base: str) -> None:
    """Fail before the first question when nothing answers at ``base``."""
    import httpx

    try:
        httpx.get(f"{base}/health", timeout=10)
    except httpx.TransportError as exc:
        raise unreachable(base, exc) from None


def questions(stream: TextIO, interactive: bool) -> Iterator[str]:
    """Non-blank lines of ``stream``, with a prompt before each when a person is typing."""
    while True:
        if interactive:
            print(PROMPT, end="", flush=True)
        line = stream.readline()
        if not line:
            return
        if line.strip():
            yield line.strip()


def ask(
    settings: Settings, base: str, model: str, messages: list[dict[str, str]], out: TextIO
) -> str:
    """Stream one answer to ``out``, then its sources; return the answer's text."""
    import httpx

    headers = {"accept": "text/event-stream"}
    if settings.api_key:
        headers["authorization"] = f"Bearer {settings.api_key}"
    body = {"model": model, "messages": messages, "stream": True}
    text, sources = "", []
    try:
        with httpx.stream(
            "POST", f"{base}/v1/chat/completions", json=body, headers=headers, timeout=300
        ) as response:
            if response.status_code != 200:
                response.read()
                raise UserError(f"{base} answered {response.status_code}: {message_of(response)}")
            for chunk in chunks(response.iter_lines()):
                for choice in chunk.get("choices", []):
                    piece = choice["delta"].get("content") or ""
                    out.write(piece)
                    out.flush()
                    text += piece
                    sources = choice["delta"].get("sources") or sources
    except httpx.TransportError as exc:
        raise unreachable(base, exc) from None
    out.write("\n")
    for source in sources:
        label = " > ".join(part for part in (source["title"], source["heading"]) if part)
        out.write(f"  [{source['n']}] {source['source']}  {label}\n")
    out.flush()
    return text


def chunks(lines: Iterator[str]) -> Iterator[dict]:
    """The JSON chunks of an OpenAI event stream, up to ``[DONE]``; an error chunk raises."""
    for line in lines:
        if not line.startswith("data:"):
            continue
        payload = line[5:].strip()
        if payload == "[DONE]":
            return
        chunk = json.loads(payload)
        if "error" in chunk:
            raise UserError(f"the service failed: {chunk['error']['message']}")
        yield chunk


def message_of(response) -> str:
    """The sentence of an OpenAI-shaped error response (or the start of its body)."""
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:200]

"""``specialist serve`` runs the HTTP service; ``specialist ask`` asks it (or answers in-process)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator

from specialist.errors import UserError
from specialist.settings import Settings, load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    """Attach the ``serve`` and ``ask`` subcommands."""
    serve_parser = subparsers.add_parser("serve", help="run the HTTP service")
    serve_parser.add_argument("--host", help="bind address (default: SPECIALIST_HOST)")
    serve_parser.add_argument("--port", type=int, help="port (default: SPECIALIST_PORT)")
    serve_parser.add_argument(
        "--workers",
        type=int,
        help="answers generated at once (default: SPECIALIST_GENERATION_WORKERS); the torch "
        "threads are split among the answers running",
    )
    serve_parser.set_defaults(handler=serve)

    ask_parser = subparsers.add_parser("ask", help="ask a question and print the cited answer")
    ask_parser.add_argument("question", help="the question, in quotes")
    ask_parser.add_argument("--local", action="store_true", help="answer in-process, no server")
    ask_parser.add_argument("--url", help="service address (default: http://HOST:PORT)")
    ask_parser.add_argument("--top-k", type=int, default=4, help="passages to retrieve (1-20)")
    ask_parser.add_argument("--max-new-tokens", type=int, help="answer length cap in tokens")
    ask_parser.add_argument("--source", help="only passages whose source starts with this")
    ask_parser.add_argument("--json", action="store_true", help="print the raw JSON response")
    ask_parser.set_defaults(handler=ask)


def serve(args: argparse.Namespace) -> int:
    """Start uvicorn on the configured address.

    One process: the models are loaded once and shared by the generation worker threads, where
    several uvicorn processes would each hold a copy and fight over the same cores.
    """
    import uvicorn

    from service.app import create_app

    pairs = (("host", args.host), ("port", args.port), ("generation_workers", args.workers))
    overrides = {k: v for k, v in pairs if v is not None}
    settings = load_settings(**overrides)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
    return 0


def ask(args: argparse.Namespace) -> int:
    """Print the answer (streamed when talking to a server) and then its sources."""
    settings = load_settings()
    payload = {"question": args.question, "top_k": args.top_k}
    if args.max_new_tokens is not None:
        payload["max_new_tokens"] = args.max_new_tokens
    if args.source:
        payload["filters"] = {"source": args.source}
    if args.local:
        result = _ask_local(settings, payload)
        if not args.json:
            print(result["answer"])
    else:
        result = _ask_remote(settings, args.url, payload, echo=not args.json)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print_sources(result)
    return 0


def _ask_local(settings: Settings, payload: dict) -> dict:
    """Answer (or summarize, when the question asks for a summary) in this process with the
    current index and adapter."""
    from pydantic import ValidationError

    from engine.answering import AnswerPolicy, Question
    from engine.loader import load_specialist
    from engine.snapshot import Engine
    from engine.summaries import respond
    from retrieval.search import open_index
    from service.schemas import AskRequest

    try:
        request = AskRequest(**payload)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "request"
        raise UserError(f"{field}: {error['msg']}") from None
    index = open_index(settings)
    if index is None:
        raise UserError("no index yet; run `specialist index` (or start the service once) first")
    engine = Engine(index, load_specialist(settings))
    question = Question(
        text=request.question.strip(),
        top_k=request.top_k,
        max_new_tokens=min(
            request.max_new_tokens or settings.default_max_new_tokens, settings.max_new_tokens_limit
        ),
        source_prefix=request.filters.source,
    )
    outcome = respond(engine, question, AnswerPolicy.from_settings(settings))
    return outcome.response.model_dump()


def _ask_remote(settings: Settings, url: str | None, payload: dict, echo: bool) -> dict:
    """Stream the answer from a running service, echoing tokens as they arrive."""
    for event, data in service_events(settings, url, "/ask", {**payload, "stream": True}):
        if event == "token" and echo:
            print(data["text"], end="", flush=True)
        elif event == "done":
            if echo:
                print()
            return data
    raise UserError("the service closed the stream before the answer was complete")


def service_events(
    settings: Settings, url: str | None, path: str, body: dict, timeout: float = 900
) -> Iterator[tuple[str, dict]]:
    """The server-sent events of POSTing ``body`` to ``path`` of the service (at ``url``, default
    ``http://HOST:PORT``); an error answer, an ``error`` event or no service is one sentence."""
    import httpx

    base = (url or f"http://{settings.host}:{settings.port}").rstrip("/")
    headers = {"accept": "text/event-stream"}
    if settings.api_key:
        headers["authorization"] = f"Bearer {settings.api_key}"
    try:
        with httpx.stream(
            "POST", f"{base}{path}", json=body, headers=headers, timeout=timeout
        ) as response:
            if response.status_code != 200:
                response.read()
                raise UserError(
                    f"{base} answered {response.status_code}: {response_detail(response)}"
                )
            for event, data in parse_sse(response.iter_lines()):
                if event == "error":
                    raise UserError(f"the service failed: {data['detail']}")
                yield event, data
    except httpx.TransportError as exc:
        raise UserError(
            f"cannot reach the service at {base} ({exc}); start it with `specialist serve`"
        ) from None


def response_detail(response) -> str:
    """The error sentence of an answer: its JSON ``detail``, else the start of its text."""
    try:
        return str(response.json().get("detail"))
    except ValueError:
        return response.text[:200]


def parse_sse(lines: Iterable[str]) -> Iterable[tuple[str, dict]]:
    """(event, data) pairs from server-sent event lines."""
    event, data = "message", ""
    for line in lines:
        if not line:
            if data:
                yield event, json.loads(data)
            event, data = "message", ""
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()


def _print_sources(result: dict) -> None:
    if not result["citations"]:
        print("\n(no passage cited)", file=sys.stdout)
        return
    print("\nSources:")
    for citation in result["citations"]:
        label = " > ".join(part for part in (citation["title"], citation["heading"]) if part)
        print(f"  [{citation['n']}] {citation['source']}  {label}  (score {citation['score']:.3f})")

"""Pure ASGI middleware (it never buffers responses, so streaming stays streaming).

``Guard`` enforces the optional API key and the body size limit before any route runs;
``RequestMetrics`` counts every response by route template and status.
"""

from __future__ import annotations

import hmac
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.metrics import Metrics
from service.openai_errors import error_body, is_openai

OPEN_PATHS = frozenset({"/health", "/ready", "/"})
DOCUMENT_PATHS = frozenset({"/summarize", "/v1/chat/completions"})
"""Routes whose body may carry a pasted document, with their own (larger) body limit."""
"""Routes that never need the API key: liveness, readiness and the page shell (which holds no
data and asks the user for the key itself, because a browser cannot attach a bearer header to a
page load)."""


async def send_json(
    send: Send, path: str, status: int, detail: str, headers: dict[str, str] | None = None
) -> None:
    """Answer with ``{"detail": ...}`` (OpenAI's error shape under ``/v1/``) without the app."""
    content = error_body(status, detail) if is_openai(path) else {"detail": detail}
    body = json.dumps(content).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def too_large(limit: int) -> str:
    """The sentence a body over the limit gets."""
    return f"request body is larger than {limit} bytes"


class Guard:
    """API key (constant-time comparison) and request body limit."""

    def __init__(
        self, app: ASGIApp, api_key: str | None, max_body_bytes: int, max_document_bytes: int
    ) -> None:
        self.app = app
        self.expected = f"Bearer {api_key}".encode() if api_key else None
        self.max_body_bytes = max_body_bytes
        self.max_document_bytes = max_document_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.expected is not None and scope["path"] not in OPEN_PATHS:
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                await send_json(
                    send,
                    scope["path"],
                    401,
                    "missing or wrong API key",
                    {"WWW-Authenticate": "Bearer"},
                )
                return
        limit = self.max_document_bytes if scope["path"] in DOCUMENT_PATHS else self.max_body_bytes
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await send_json(send, scope["path"], 413, too_large(limit))
            return
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        body, complete = await self._read_body(receive, limit)
        if not complete:
            await send_json(send, scope["path"], 413, too_large(limit))
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _read_body(self, receive: Receive, limit: int) -> tuple[bytes, bool]:
        """The whole body, read up to the limit (chunked uploads declare no length)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"", True
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return b"", False
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), True


class RequestMetrics:
    """Counts responses by route template (not raw path, to keep label cardinality bounded)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(template, scope["method"], str(status)).inc()

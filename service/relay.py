"""Running one answer in the generation pool for an HTTP request, whichever API asked for it.

``POST /ask`` and ``POST /v1/chat/completions`` differ only in how an answer is framed; both queue
it in the bounded pool (503 with ``Retry-After`` when full), stop it before the next token when the
client hangs up (the worker it held is free for the next request, so clients that time out and
retry cannot pile up work), and record its latencies. That part lives here, once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Literal, TypeVar

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from engine.answering import Outcome
from engine.remote import EngineRefusedError, EngineUnavailableError
from service.metrics import Metrics
from service.pool import GenerationPool, OverloadedError
from specialist.errors import NotFoundError, UserError

log = logging.getLogger(__name__)
T = TypeVar("T")
DISCONNECT_POLL_S = 0.5
"""How often a quiet stream checks whether its client is still there."""
CLIENT_CLOSED = 499
"""The status logged for an answer abandoned by its client (nginx's convention; nobody reads it)."""

Run = Callable[[Callable[[str], None]], Outcome]
"""An answer job: generates, handing each piece of text to the callback, and returns the outcome."""
Event = tuple[Literal["token", "error", "done"], object]
"""What a streamed answer relays: a piece of text, an error sentence, or the finished Outcome."""


@dataclass(frozen=True)
class Job:
    """One answer (or summary) a request asked for: what runs it and what watches it."""

    request: Request
    pool: GenerationPool
    metrics: Metrics
    run: Run
    stop: threading.Event
    arrived: float


def counted(metrics: Metrics, on_token: Callable[[str], None] | None) -> Callable[[str], None]:
    """``on_token`` that also counts each piece as it is made, abandoned answers included."""

    def count(piece: str) -> None:
        if isinstance(piece, str):  # a summary also relays its progress and finished sentences
            metrics.tokens.inc()
        if on_token is not None:
            on_token(piece)

    return count


def record(metrics: Metrics, outcome: Outcome) -> None:
    """Stage latencies of one finished answer."""
    timings = outcome.response.timings_ms
    metrics.observe_ask(timings.retrieve, timings.generate, timings.total)


def as_http_error(exc: UserError) -> HTTPException:
    """The HTTP answer to a pipeline error: 503 with ``Retry-After`` while the engine is away,
    409 when it refuses an adapter, 404 for what does not exist, else 422 with the error's sentence."""
    if isinstance(exc, EngineUnavailableError):
        return HTTPException(503, str(exc), headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, EngineRefusedError):
        return HTTPException(409, str(exc))
    if isinstance(exc, NotFoundError):
        return HTTPException(404, str(exc))
    return HTTPException(422, str(exc))


def admit(pool: GenerationPool, job: Callable[[], T]) -> Future[T]:
    """Queue ``job`` or answer 503 with ``Retry-After`` at once."""
    try:
        return pool.submit(job)
    except OverloadedError as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None


async def hung_up(request: Request) -> None:
    """Return as soon as the client closes the connection (its body has been read already).

    The server hands an ``http.disconnect`` message to the app the moment the socket closes, so
    waiting for it costs nothing and notices a hang-up at once, with no polling.
    """
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def answer_unless_gone(job: Job) -> Outcome | None:
    """The finished answer, or None when the client hung up first (the answer is then stopped).

    A :class:`UserError` from the pipeline becomes an HTTP error (:func:`as_http_error`).
    """
    answer = asyncio.wrap_future(admit(job.pool, lambda: job.run(counted(job.metrics, None))))
    gone = asyncio.ensure_future(hung_up(job.request))
    try:
        await asyncio.wait({answer, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if not answer.done():
        job.stop.set()
        return None
    try:
        outcome = answer.result()
    except UserError as exc:
        raise as_http_error(exc) from None
    record(job.metrics, outcome)
    return outcome


class StreamedAnswer:
    """An answer generated in the pool whose pieces are relayed to the event loop as they come.

    It is admitted when created, so a full pool is refused with a real 503 before any byte of the
    stream is sent; :meth:`events` then yields what the answer produces and stops the answer when
    the client leaves or the consumer stops reading.
    """

    def __init__(self, job: Job) -> None:
        self.request = job.request
        self.metrics = job.metrics
        self.stop = job.stop
        self.arrived = job.arrived
        run, metrics = job.run, job.metrics
        loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[Event] = asyncio.Queue()

        def push(kind: Literal["token", "error", "done"], payload: object) -> None:
            loop.call_soon_threadsafe(self.queue.put_nowait, (kind, payload))

        def work() -> None:
            try:
                outcome = run(counted(metrics, lambda piece: push("token", piece)))
            except UserError as exc:
                push("error", str(exc))
            except Exception as exc:
                log.exception("streamed answer failed")
                push("error", f"{type(exc).__name__}: the answer could not be generated")
            else:
                push("done", outcome)

        admit(job.pool, work)

    async def events(self) -> AsyncIterator[Event]:
        """Pieces as they are generated, then one ``error`` or ``done`` event; nothing after."""
        first = True
        try:
            while True:
                try:
                    kind, payload = await asyncio.wait_for(self.queue.get(), DISCONNECT_POLL_S)
                except TimeoutError:
                    if await self.request.is_disconnected():
                        return
                    continue
                if kind == "token" and first:
                    self.metrics.first_token_seconds.observe(time.perf_counter() - self.arrived)
                    first = False
                if kind == "done":
                    assert isinstance(payload, Outcome)
                    record(self.metrics, payload)
                yield kind, payload
                if kind != "token":
                    return
        finally:
            self.stop.set()


def event_stream(events: AsyncIterator[str]) -> StreamingResponse:
    """Server-sent events, which no cache or proxy on the way may hold back (nginx buffers unless
    ``X-Accel-Buffering: no``)."""
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def reply(
    job: Job, stream: bool, events: Callable[[StreamedAnswer], AsyncIterator[str]]
) -> Response:
    """``job``'s outcome as JSON, or with ``stream`` as the server-sent ``events`` of it; nothing
    (499, logged only) for a client that hung up first."""
    if stream:
        return event_stream(events(StreamedAnswer(job)))
    outcome = await answer_unless_gone(job)
    if outcome is None:
        return Response(status_code=CLIENT_CLOSED)
    return JSONResponse(outcome.response.model_dump())

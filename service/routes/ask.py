"""``POST /ask``: a JSON answer, or server-sent events (tokens, then one final event).

Either way, a client that hangs up stops its answer before the next token: the worker it held is
free for the next request, so clients that time out and retry cannot pile up work.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from engine.answering import AnswerPolicy, Outcome, Question, answer_question
from engine.schemas import AskResponse
from service.deps import PoolDep, RuntimeDep, ServingEngine, SettingsDep
from service.metrics import Metrics
from service.pool import GenerationPool, OverloadedError
from service.schemas import AskRequest
from specialist.errors import UserError
from specialist.settings import Settings

log = logging.getLogger(__name__)
router = APIRouter()
DISCONNECT_POLL_S = 0.5
"""How often a quiet stream checks whether its client is still there."""


def question_of(body: AskRequest, settings: Settings) -> Question:
    """Apply the limits that come from settings (422 with a message)."""
    text = body.question.strip()
    if not text:
        raise HTTPException(422, "question: must not be blank")
    if len(text) > settings.max_question_chars:
        raise HTTPException(
            422, f"question: at most {settings.max_question_chars} characters (got {len(text)})"
        )
    limit = settings.max_new_tokens_limit
    if body.max_new_tokens is not None and body.max_new_tokens > limit:
        raise HTTPException(422, f"max_new_tokens: at most {limit} (got {body.max_new_tokens})")
    return Question(
        text=text,
        top_k=body.top_k,
        max_new_tokens=body.max_new_tokens or min(settings.default_max_new_tokens, limit),
        source_prefix=body.filters.source,
    )


CLIENT_CLOSED = 499
"""The status logged for an answer abandoned by its client (nginx's convention; nobody reads it)."""


def record(metrics: Metrics, outcome: Outcome) -> None:
    """Stage latencies of one finished answer."""
    timings = outcome.response.timings_ms
    metrics.observe_ask(timings.retrieve, timings.generate, timings.total)


def admit(pool: GenerationPool, job: Callable[[], object]):
    """Queue ``job`` or answer 503 with ``Retry-After`` at once."""
    try:
        return pool.submit(job)
    except OverloadedError as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None


def sse(event: str, data: object) -> str:
    """One server-sent event."""
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


STREAMED = {
    200: {
        "description": "The answer as JSON, or with `stream` (or `Accept: text/event-stream`) as "
        "server-sent events: `token` events, then one `done` event holding the JSON answer",
        "content": {
            "text/event-stream": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "event": {"type": "string", "enum": ["token", "done", "error"]},
                        "data": {"type": "string", "description": "one JSON object"},
                    },
                    "required": ["event", "data"],
                }
            }
        },
    }
}


@router.post("/ask", response_model=AskResponse, responses=STREAMED)
async def ask(
    body: AskRequest,
    request: Request,
    engine: ServingEngine,
    settings: SettingsDep,
    runtime: RuntimeDep,
    pool: PoolDep,
) -> Response:
    """Answer from the documents with ``[n]`` citations; streams events when asked to."""
    arrived = time.perf_counter()
    question = question_of(body, settings)
    stop = threading.Event()

    def run(on_token: Callable[[str], None] | None = None) -> Outcome:
        def counted(piece: str) -> None:
            runtime.metrics.tokens.inc()
            if on_token is not None:
                on_token(piece)

        return answer_question(
            engine,
            question,
            AnswerPolicy.from_settings(settings),
            on_token=counted,
            stop=stop,
            started=arrived,
        )

    if body.stream or "text/event-stream" in request.headers.get("accept", ""):
        return stream(request, runtime.metrics, pool, run, stop, arrived)
    answer = asyncio.wrap_future(admit(pool, run))
    gone = asyncio.ensure_future(hung_up(request))
    try:
        await asyncio.wait({answer, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if not answer.done():
        stop.set()
        return Response(status_code=CLIENT_CLOSED)
    try:
        outcome = answer.result()
    except UserError as exc:
        raise HTTPException(422, str(exc)) from None
    record(runtime.metrics, outcome)
    return JSONResponse(outcome.response.model_dump())


async def hung_up(request: Request) -> None:
    """Return as soon as the client closes the connection (its body has been read already).

    The server hands an ``http.disconnect`` message to the app the moment the socket closes, so
    waiting for it costs nothing and notices a hang-up at once, with no polling.
    """
    while (await request.receive())["type"] != "http.disconnect":
        pass


def stream(
    request: Request,
    metrics: Metrics,
    pool: GenerationPool,
    run: Callable[[Callable[[str], None]], Outcome],
    stop: threading.Event,
    arrived: float,
) -> StreamingResponse:
    """Generate in the pool, relay pieces through an asyncio queue, stop when the client leaves."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, object]] = asyncio.Queue()

    def push(kind: str, payload: object) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, (kind, payload))

    def job() -> None:
        try:
            outcome = run(lambda piece: push("token", piece))
        except UserError as exc:
            push("error", str(exc))
        except Exception as exc:
            log.exception("streamed answer failed")
            push("error", f"{type(exc).__name__}: the answer could not be generated")
        else:
            push("done", outcome)

    admit(pool, job)

    async def events() -> AsyncIterator[str]:
        first = True
        try:
            while True:
                try:
                    kind, payload = await asyncio.wait_for(queue.get(), DISCONNECT_POLL_S)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    continue
                if kind == "token":
                    if first:
                        metrics.first_token_seconds.observe(time.perf_counter() - arrived)
                        first = False
                    yield sse("token", {"text": payload})
                elif kind == "error":
                    yield sse("error", {"detail": payload})
                    return
                else:
                    assert isinstance(payload, Outcome)
                    record(metrics, payload)
                    yield sse("done", payload.response.model_dump())
                    return
        finally:
            stop.set()

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )

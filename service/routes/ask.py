"""``POST /ask``: a JSON answer, or server-sent events (tokens, then one final event).

Either way, a client that hangs up stops its answer before the next token (:mod:`service.relay`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Callable

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from engine.answering import AnswerPolicy, Outcome, Question
from engine.schemas import AskResponse
from engine.summaries import message_limit, respond
from service.deps import PoolDep, RuntimeDep, ServingEngine, SettingsDep
from service.relay import Job, StreamedAnswer, reply
from service.schemas import AskRequest
from specialist.settings import Settings

router = APIRouter()


def question_of(body: AskRequest, settings: Settings) -> Question:
    """Apply the limits that come from settings (422 with a message)."""
    text = body.question.strip()
    if not text:
        raise HTTPException(422, "question: must not be blank")
    most = message_limit(text, settings.max_question_chars, settings.max_summary_chars)
    if len(text) > most:
        raise HTTPException(422, f"question: at most {most} characters (got {len(text)})")
    limit = settings.max_new_tokens_limit
    if body.max_new_tokens is not None and body.max_new_tokens > limit:
        raise HTTPException(422, f"max_new_tokens: at most {limit} (got {body.max_new_tokens})")
    return Question(
        text=text,
        top_k=body.top_k,
        max_new_tokens=body.max_new_tokens or min(settings.default_max_new_tokens, limit),
        source_prefix=body.filters.source,
    )


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
    """Answer from the documents with ``[n]`` citations; streams events when asked to.

    A request for a summary ("summarize the article about X", "tl;dr: <text>") is recognized
    (:mod:`engine.router`) and answered with one, cited by document.
    """
    arrived = time.perf_counter()
    question = question_of(body, settings)
    stop = threading.Event()

    def run(on_token: Callable[[str], None]) -> Outcome:
        return respond(
            engine,
            question,
            AnswerPolicy.from_settings(settings),
            on_token=on_token,
            stop=stop,
            started=arrived,
        )

    streamed = body.stream or "text/event-stream" in request.headers.get("accept", "")
    job = Job(request, pool, runtime.metrics, run, stop, arrived)
    return await reply(job, streamed, events)


async def events(answer: StreamedAnswer) -> AsyncIterator[str]:
    """``token`` events, then one ``done`` event with the JSON answer (or one ``error``)."""
    async for kind, payload in answer.events():
        if kind == "token":
            yield sse("token", {"text": payload})
        elif kind == "error":
            yield sse("error", {"detail": payload})
        else:
            assert isinstance(payload, Outcome)
            yield sse("done", payload.response.model_dump())

"""``POST /summarize``: the specialist summarizes documents by id, a topic's documents, or text.

The documents are resolved first, so an unknown source or a topic nothing is about is a 404
before any work starts; the summary then runs in the generation pool like an answer (503 when
full, stopped when the client hangs up, :mod:`service.relay`).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Request
from fastapi.responses import Response

from engine.answering import Outcome
from engine.schemas import SummaryResponse
from engine.snapshot import Engine
from engine.summaries import SummaryJob, documents_for, run_summary
from engine.summarize import Progress, SummarySentence
from service.deps import PoolDep, RuntimeDep, ServingEngine, SettingsDep
from service.relay import Job, StreamedAnswer, reply
from service.routes.ask import sse
from service.schemas import SUMMARIZE_EXAMPLES, SummarizeRequest
from specialist.errors import NotFoundError
from specialist.settings import Settings

router = APIRouter()
STREAMED = {
    200: {
        "description": "The summary as JSON, or with `stream` as server-sent events: `progress` "
        "(model calls done of total), `sentence` (each sentence once it passed the faithfulness "
        "guard), then one `done` event holding the JSON summary (or one `error`)",
        "content": {
            "text/event-stream": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "event": {
                            "type": "string",
                            "enum": ["progress", "sentence", "done", "error"],
                        },
                        "data": {"type": "string", "description": "one JSON object"},
                    },
                    "required": ["event", "data"],
                }
            }
        },
    },
    404: {"description": "An unknown source, or no document about the query"},
}


def summary_job(body: SummarizeRequest, settings: Settings) -> SummaryJob:
    """The request as a job, with the limits that come from settings (422/413 with a message)."""
    for field in ("text", "query", "source"):
        value = getattr(body, field)
        if value is not None and not value.strip():
            raise HTTPException(422, f"{field}: must not be blank")
    if body.sources is not None and not all(name.strip() for name in body.sources):
        raise HTTPException(422, "sources: a source id must not be blank")
    named = [key for key in ("source", "sources", "query", "text") if getattr(body, key)]
    if len(named) != 1:
        given = ", ".join(named) or "none"
        raise HTTPException(
            422, f"give exactly one of source, sources, query or text (got {given})"
        )
    text = body.text.strip() if body.text is not None else None
    if text is not None and len(text) > settings.max_summary_chars:
        raise HTTPException(
            413, f"text: at most {settings.max_summary_chars} characters (got {len(text)})"
        )
    return SummaryJob(
        source=body.source,
        sources=tuple(body.sources or ()),
        query=body.query.strip() if body.query else None,
        text=text,
        length=body.length,
        focus=body.focus.strip() if body.focus else None,
        max_words=body.max_words,
        source_prefix=body.filters.source,
    )


@router.post("/summarize", response_model=SummaryResponse, responses=STREAMED)
async def summarize(
    body: Annotated[SummarizeRequest, Body(openapi_examples=SUMMARIZE_EXAMPLES)],
    request: Request,
    engine: ServingEngine,
    settings: SettingsDep,
    runtime: RuntimeDep,
    pool: PoolDep,
) -> Response:
    """Summarize documents with ``[n]`` citations per sentence; streams events when asked to."""
    arrived = time.perf_counter()
    job = summary_job(body, settings)
    try:
        documents = await asyncio.to_thread(documents_for, engine, job, settings.min_relevance)
    except NotFoundError as exc:
        raise HTTPException(404, str(exc)) from None
    stop = threading.Event()
    run = summarizing(engine, job, documents, stop, arrived)
    streamed = body.stream or "text/event-stream" in request.headers.get("accept", "")
    job = Job(request, pool, runtime.metrics, run, stop, arrived)
    return await reply(job, streamed, events)


def summarizing(
    engine: Engine, job: SummaryJob, documents: list, stop: threading.Event, arrived: float
) -> Callable[[Callable], Outcome]:
    """The pool job: summarize, handing each progress event and finished sentence on."""

    def run(on_event: Callable) -> Outcome:
        return run_summary(engine, job, documents, on_event=on_event, stop=stop, started=arrived)

    return run


async def events(answer: StreamedAnswer) -> AsyncIterator[str]:
    """``progress`` and ``sentence`` events, then one ``done`` (or ``error``) event."""
    async for kind, payload in answer.events():
        if isinstance(payload, Progress):
            yield sse("progress", vars(payload))
        elif isinstance(payload, SummarySentence):
            yield sse(
                "sentence",
                {
                    "text": payload.text,
                    "citations": list(payload.citations),
                    "from_source": payload.from_source,
                },
            )
        elif kind == "error":
            yield sse("error", {"detail": payload})
        elif isinstance(payload, Outcome):
            yield sse("done", payload.response.model_dump())

"""The OpenAI-compatible API: ``/v1/models``, ``/v1/chat/completions``, ``/v1/embeddings``.

A chat completion is the same grounded, cited answer as ``POST /ask``, run through the same pool
and hang-up handling (:mod:`service.relay`); the conversation's earlier turns make the follow-up
a standalone question (:mod:`engine.conversation`), and the cited passages come back in the
``sources`` extension field of the message (streamed: of the last chunk's delta).
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import AsyncIterator, Callable

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from engine.answering import AnswerPolicy, Outcome, answer_question
from engine.conversation import conversation_question
from engine.snapshot import Engine
from engine.summaries import conversation_intent, summary_answer
from service.delivery import Delivery
from service.deps import PoolDep, RuntimeDep, ServingEngine, SettingsDep, SpecialistsDep
from service.openai_chat import (
    ChatAsk,
    Framing,
    cited,
    fingerprint,
    invalid,
    read_request,
    unsupported,
)
from service.openai_errors import OPENAI_ERROR_RESPONSES, error_body
from service.openai_models import (
    ChatModel,
    Specialists,
    chat_model,
    chat_models,
    embedding_model,
    not_found,
)
from service.openai_schemas import (
    MAX_EMBEDDING_INPUTS,
    ChatCompletion,
    ChatCompletionRequest,
    Delta,
    Embedding,
    EmbeddingList,
    EmbeddingRequest,
    EmbeddingUsage,
    ModelList,
)
from service.relay import (
    CLIENT_CLOSED,
    Job,
    Run,
    StreamedAnswer,
    admit,
    answer_unless_gone,
    event_stream,
)
from service.schemas import AskRequest
from specialist.settings import Settings

router = APIRouter(prefix="/v1", responses=OPENAI_ERROR_RESPONSES, tags=["OpenAI-compatible"])
TOP_K = AskRequest.model_fields["top_k"].default
"""Passages retrieved per question: the default of ``/ask``."""
STREAMED = {
    200: {
        "description": "The answer as JSON, or with `stream` as server-sent events: "
        "`data: {chat.completion.chunk}` lines, then `data: [DONE]`",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


@router.get("/models", response_model=ModelList)
def models(request: Request, runtime: RuntimeDep, settings: SettingsDep) -> ModelList:
    """The served specialist, the base model, each adapter version (``parent``: the base), the
    embedder."""
    started = request.app.state.started
    cards = chat_models(settings, runtime.serving.specialist, started)
    return ModelList(data=[*cards, embedding_model(started)])


@router.post("/chat/completions", response_model=ChatCompletion, responses=STREAMED)
async def chat_completions(
    body: ChatCompletionRequest,
    request: Request,
    engine: ServingEngine,
    settings: SettingsDep,
    runtime: RuntimeDep,
    pool: PoolDep,
    specialists: SpecialistsDep,
) -> Response:
    """Answer the conversation's last user message from the documents, with ``sources``."""
    arrived = time.perf_counter()
    choice = await asyncio.to_thread(chat_model, settings, body.model)
    ask = read_request(body, settings)
    stop = threading.Event()
    version = engine.specialist.adapter_version if choice.served else choice.version
    framing = Framing(
        body.model, engine.specialist.tokenizer, ask, fingerprint(version, engine.index.version)
    )
    delivery = Delivery(engine.specialist.tokenizer, ask.max_tokens, ask.stops)
    run = answering(engine, specialists, choice, ask, settings, stop, arrived)
    job = Job(request, pool, runtime.metrics, run, stop, arrived)
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        answer = StreamedAnswer(job)
        return event_stream(chunks(answer, framing, delivery, include_usage))
    outcome = await answer_unless_gone(job)
    if outcome is None:
        return Response(status_code=CLIENT_CLOSED)
    delivery.add(outcome.response.answer)
    delivery.finish()
    return JSONResponse(framing.completion(outcome.response, delivery).model_dump())


def answering(
    engine: Engine,
    specialists: Specialists,
    choice: ChatModel,
    ask: ChatAsk,
    settings: Settings,
    stop: threading.Event,
    arrived: float,
) -> Run:
    """The answer job: the chosen specialist (loaded on first use) answers the standalone question,
    or writes the summary the last message asks for (of a pasted text, or of the documents about
    its topic: "summarize it" takes the topic of the conversation's earlier question).

    It watches what the client will receive, so generation stops once ``max_tokens`` or a stop
    sequence has ended the delivered answer, streamed or not.
    """

    def run(on_token: Callable[[str], None]) -> Outcome:
        specialist = specialists.answering(choice, engine.specialist)
        intent = conversation_intent(ask.question, ask.history)
        if intent is not None:
            return summary_answer(
                Engine(engine.index, specialist),
                intent,
                settings.min_relevance,
                on_token=on_token,
                stop=stop,
                started=arrived,
            )
        question = conversation_question(
            ask.history, ask.question, engine.index.idf, TOP_K, ask.max_new_tokens
        )
        watch = Delivery(specialist.tokenizer, ask.max_tokens, ask.stops)

        def watched(piece: str) -> None:
            on_token(piece)
            watch.add(piece)
            if watch.done:
                stop.set()

        return answer_question(
            Engine(engine.index, specialist),
            question,
            AnswerPolicy.from_settings(settings),
            on_token=watched,
            stop=stop,
            started=arrived,
        )

    return run


def data(payload: object) -> str:
    """One server-sent event the way OpenAI streams: a ``data:`` line, a blank line."""
    return f"data: {json.dumps(payload)}\n\n"


async def chunks(
    answer: StreamedAnswer, framing: Framing, delivery: Delivery, include_usage: bool
) -> AsyncIterator[str]:
    """The role, the answer's text as it comes, the end with ``sources``, the usage, ``[DONE]``.

    Text past ``max_tokens`` or a stop sequence is not sent; an error ends the stream with
    OpenAI's error object instead of ``[DONE]``.
    """
    yield data(framing.chunk(Delta(role="assistant", content="")).model_dump())
    async for kind, payload in answer.events():
        if kind == "error":
            yield data(error_body(500, str(payload)))
            return
        if kind == "token":
            piece = delivery.add(str(payload))
        else:
            assert isinstance(payload, Outcome)
            piece = delivery.finish()
        if piece:
            yield data(framing.chunk(Delta(content=piece)).model_dump())
        if kind == "done":
            assert isinstance(payload, Outcome)
            end = Delta(sources=cited(payload.response.citations, delivery.text))
            yield data(framing.chunk(end, delivery.finish_reason).model_dump())
    if include_usage:
        yield data(framing.chunk(None, usage=framing.usage(delivery)).model_dump())
    yield "data: [DONE]\n\n"


@router.post("/embeddings", response_model=EmbeddingList)
async def embeddings(
    body: EmbeddingRequest, request: Request, engine: ServingEngine, pool: PoolDep
) -> EmbeddingList:
    """Embed text with the index's embedder, normalized, as retrieval embeds queries."""
    started = request.app.state.started
    if body.model != embedding_model(started).id:
        raise not_found(body.model, "embedding", [embedding_model(started).id])
    texts = [body.input] if isinstance(body.input, str) else body.input
    if not all(isinstance(text, str) for text in texts):
        raise unsupported("input", "give a string or a list of strings (token arrays are not read)")
    if not 1 <= len(texts) <= MAX_EMBEDDING_INPUTS:
        raise invalid("input", f"1 to {MAX_EMBEDDING_INPUTS} inputs per request (got {len(texts)})")
    width = engine.index.embedder.get_embedding_dimension()
    if body.dimensions not in (None, width):
        raise unsupported("dimensions", f"this embedder gives {width} dimensions")
    vectors = await asyncio.wrap_future(admit(pool, lambda: engine.index.embed(list(texts))))
    tokenizer = engine.index.embedder.tokenizer
    tokens = sum(len(ids) for ids in tokenizer(list(texts)).input_ids)
    return EmbeddingList(
        data=[
            Embedding(index=i, embedding=encoded(vector, body.encoding_format))
            for i, vector in enumerate(vectors)
        ],
        model=body.model,
        usage=EmbeddingUsage(prompt_tokens=tokens, total_tokens=tokens),
    )


def encoded(vector: np.ndarray, encoding_format: str | None) -> list[float] | str:
    """Floats, or base64 of little-endian float32 (what the openai package asks for by default)."""
    if encoding_format == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode()
    return [float(x) for x in vector]

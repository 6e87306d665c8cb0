"""A summary request from any front: which documents it means, then :func:`engine.summarize.summarize`.

``POST /summarize`` names its documents (``source``, ``sources``, ``query`` or pasted ``text``);
``/ask`` and ``/v1/chat/completions`` hand over a message the router (:mod:`engine.router`) read as
a summary request. Both end here, so every front summarizes the same way and answers in the same
shape: :class:`~engine.schemas.SummaryResponse`, or for the question APIs the same summary as an
:class:`~engine.schemas.AskResponse` whose citations are the documents summarized.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from engine.answering import AnswerPolicy, Outcome, Question, answer_question, snippet
from engine.documents import documents_about, whole_source
from engine.router import SummaryIntent, summary_intent
from engine.schemas import (
    AskResponse,
    Citation,
    GuardReport,
    SummaryResponse,
    SummarySentenceOut,
    Timings,
)
from engine.snapshot import Engine
from engine.summarize import Document, Length, Listener, Summary, SummarySentence, summarize
from specialist.errors import NotFoundError
from specialist.prompt import NO_ANSWER, Turn

PASTED_SOURCE = "(pasted text)"


class NothingToSummarizeError(NotFoundError):
    """The documents asked for do not exist or say nothing about the topic (HTTP 404)."""


@dataclass(frozen=True)
class SummaryJob:
    """A validated summary request: exactly one way of naming documents, and how to summarize."""

    source: str | None = None
    sources: tuple[str, ...] = ()
    query: str | None = None
    text: str | None = None
    length: Length = "medium"
    focus: str | None = None
    max_words: int | None = None
    source_prefix: str | None = None

    @classmethod
    def from_intent(cls, intent: SummaryIntent, source_prefix: str | None = None) -> SummaryJob:
        """The job a recognized request in a question API stands for (pasted text, else a topic)."""
        return cls(
            query=None if intent.pasted else intent.topic,
            text=intent.pasted,
            length=intent.length or "medium",
            focus=intent.focus,
            source_prefix=source_prefix,
        )


def message_limit(text: str, max_question_chars: int, max_summary_chars: int) -> int:
    """The most characters the question APIs take for ``text``: a question's limit, or
    ``/summarize``'s for a message that pastes a document to summarize."""
    if len(text) > max_question_chars:
        intent = summary_intent(text)
        if intent is not None and intent.pasted:
            return max_summary_chars
    return max_question_chars


def conversation_intent(message: str, history: Sequence[Turn]) -> SummaryIntent | None:
    """The summary ``message`` asks for, if any; "summarize it" (no topic, nothing pasted) is about
    the conversation's last earlier question, or its topic when that was a summary request too."""
    intent = summary_intent(message)
    if intent is None or intent.topic or intent.pasted:
        return intent
    for turn in reversed(history):
        if turn.role == "user":
            earlier = summary_intent(turn.content)
            topic = earlier.topic if earlier and earlier.topic else turn.content
            return replace(intent, topic=topic)
    return intent


def documents_for(engine: Engine, job: SummaryJob, min_relevance: float) -> list[Document]:
    """The documents ``job`` names, numbered from 1 as they will be cited."""
    if job.text is not None:
        return [Document(1, job.text, PASTED_SOURCE, "")]
    if job.query is not None:
        found = documents_about(engine.index, job.query, min_relevance, job.source_prefix)
        if not found:
            raise NothingToSummarizeError(f"no document in the index is about {job.query!r}")
        return found
    names = (job.source,) if job.source else job.sources
    if not names:
        raise NothingToSummarizeError("say what to summarize: a topic, a source or a text")
    return [whole_source(engine.index, name, n) for n, name in enumerate(names, start=1)]


def run_summary(
    engine: Engine,
    job: SummaryJob,
    documents: list[Document],
    *,
    on_event: Listener | None = None,
    stop: threading.Event | None = None,
    started: float | None = None,
) -> Outcome:
    """Summarize ``documents`` (:func:`documents_for` of ``job``); the outcome's response is a
    :class:`SummaryResponse`, its ``retrieve`` time what finding the documents took."""
    started = time.perf_counter() if started is None else started
    found = time.perf_counter()
    summary = summarize(
        engine.specialist,
        lambda texts: engine.index.embed(texts),
        documents,
        job.length,
        job.focus,
        job.max_words,
        on_event=on_event,
        stop=stop,
    )
    finished = time.perf_counter()
    response = SummaryResponse(
        summary=summary.text,
        sentences=[
            SummarySentenceOut(text=s.text, citations=list(s.citations), from_source=s.from_source)
            for s in summary.sentences
        ],
        citations=document_citations(documents, summary),
        length=job.length,
        parts=summary.parts,
        model_calls=summary.calls,
        guard=GuardReport(**vars(summary.guard)),
        index_version=engine.index.version if job.text is None else None,
        adapter_version=engine.specialist.adapter_version,
        base_model=engine.specialist.base_model,
        timings_ms=Timings(
            retrieve=round((found - started) * 1000, 1),
            generate=round((finished - found) * 1000, 1),
            total=round((finished - started) * 1000, 1),
        ),
    )
    return Outcome(response, summary.calls)


def document_citations(documents: list[Document], summary: Summary) -> list[Citation]:
    """The documents the summary's sentences cite, as citations (n as in the markers)."""
    used = {n for sentence in summary.sentences for n in sentence.citations}
    return [
        Citation(
            n=d.n, source=d.source, title=d.title, heading="", snippet=snippet(d.text), score=1.0
        )
        for d in documents
        if d.n in used
    ]


def summary_answer(
    engine: Engine,
    intent: SummaryIntent,
    min_relevance: float,
    *,
    on_token: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
    started: float | None = None,
    source_prefix: str | None = None,
) -> Outcome:
    """A recognized summary request answered in the question APIs' shape, streamed by sentence.

    A topic nothing in the index is about gets the usual "The documents do not say." answer.
    """
    job = SummaryJob.from_intent(intent, source_prefix)
    started = time.perf_counter() if started is None else started

    def sentence_out(event: object) -> None:
        if on_token is not None and isinstance(event, SummarySentence):
            on_token(f"{event.cited} ")

    try:
        documents = documents_for(engine, job, min_relevance)
    except NothingToSummarizeError:
        if on_token is not None:
            on_token(NO_ANSWER)
        return Outcome(_declined(engine, started), 0)
    outcome = run_summary(engine, job, documents, on_event=sentence_out, stop=stop, started=started)
    summary = outcome.response
    assert isinstance(summary, SummaryResponse)
    answer = AskResponse(
        answer=summary.summary or NO_ANSWER,
        citations=summary.citations,
        index_version=summary.index_version,
        adapter_version=summary.adapter_version,
        base_model=summary.base_model,
        timings_ms=summary.timings_ms,
    )
    return Outcome(answer, outcome.tokens)


def _declined(engine: Engine, started: float) -> AskResponse:
    total = round((time.perf_counter() - started) * 1000, 1)
    return AskResponse(
        answer=NO_ANSWER,
        citations=[],
        index_version=engine.index.version,
        adapter_version=engine.specialist.adapter_version,
        base_model=engine.specialist.base_model,
        timings_ms=Timings(retrieve=total, generate=0.0, total=total),
    )


def respond(
    engine: Engine,
    question: Question,
    policy: AnswerPolicy,
    *,
    on_token: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
    started: float | None = None,
) -> Outcome:
    """What a question API answers: the summary ``question.text`` asks for (:mod:`engine.router`),
    else the answer to the question."""
    intent = summary_intent(question.text)
    if intent is not None:
        return summary_answer(
            engine,
            intent,
            policy.min_relevance,
            on_token=on_token,
            stop=stop,
            started=started,
            source_prefix=question.source_prefix,
        )
    return answer_question(engine, question, policy, on_token=on_token, stop=stop, started=started)

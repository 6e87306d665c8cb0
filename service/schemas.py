"""Typed request and response bodies of the HTTP API (they are also its OpenAPI contract).

The answer itself (``AskResponse`` with its ``Citation`` and ``Timings``) is what the answer
pipeline returns, so it is defined once in :mod:`engine.schemas` and ``POST /ask`` returns it as is.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class AskFilters(BaseModel):
    """Restrictions on which passages may be retrieved."""

    model_config = ConfigDict(extra="forbid")

    source: str | None = Field(
        default=None,
        max_length=1000,
        description="Only passages whose source path starts with this prefix.",
    )


class AskRequest(BaseModel):
    """``POST /ask``; the question length and ``max_new_tokens`` bounds come from settings."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, description="The question, in plain text.")
    top_k: int = Field(default=4, ge=1, le=20, description="Passages retrieved for the prompt.")
    max_new_tokens: int | None = Field(
        default=None, ge=1, description="Answer length cap in tokens (server default when unset)."
    )
    filters: AskFilters = Field(default_factory=AskFilters)
    stream: bool = Field(default=False, description="Answer as server-sent events.")


class ReindexRequest(BaseModel):
    """``POST /reindex``; without ``path`` the first configured document root is indexed."""

    model_config = ConfigDict(extra="forbid")

    path: str | None = Field(default=None, max_length=4096)


class SkippedFile(BaseModel):
    """A file the indexer could not read, and why."""

    path: str
    reason: str


class ReindexReport(BaseModel):
    """What a finished reindex did."""

    version: str
    files_indexed: int
    files_unchanged: int
    files_deleted: int
    chunks_total: int
    seconds: float
    skipped: list[SkippedFile]


class ReindexJob(BaseModel):
    """State of one reindex job."""

    id: str
    path: str
    state: Literal["queued", "running", "done", "failed"]
    created: float
    started: float | None = None
    finished: float | None = None
    elapsed_s: float = 0.0
    error: str | None = None
    report: ReindexReport | None = None


class AdapterOut(BaseModel):
    """One adapter version as ``GET /adapters`` lists it."""

    version: str
    base_model: str
    created: str | None
    active: bool
    serving: bool = Field(description="Whether the running service answers with this adapter.")


class AdapterList(BaseModel):
    """Adapters on disk plus what the service is serving right now."""

    serving: str | None
    base_model: str
    adapters: list[AdapterOut]


class ErrorResponse(BaseModel):
    """Every error the service answers itself: one readable sentence in ``detail``.

    A request that does not fit its schema (422) also carries FastAPI's structured ``errors``
    (location, message and type of each problem) for clients that map them onto form fields.
    """

    detail: str
    errors: list[dict[str, Any]] | None = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Missing or wrong API key"},
    413: {"model": ErrorResponse, "description": "Request body too large"},
    422: {"model": ErrorResponse, "description": "The request does not fit its schema or limits"},
    503: {"model": ErrorResponse, "description": "Not ready or overloaded; see Retry-After"},
}
"""Errors any route may answer, declared once so the OpenAPI contract matches what is sent."""


class SummarizeRequest(BaseModel):
    """``POST /summarize``: exactly one of ``source``, ``sources``, ``query`` or ``text``."""

    model_config = ConfigDict(extra="forbid")

    source: str | None = Field(
        default=None, max_length=4096, description="A source id as citations name it."
    )
    sources: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=10,
        description="Several source ids, summarized together; each sentence cites its own.",
    )
    query: str | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        description="A topic: the documents about it are retrieved, then summarized.",
    )
    text: str | None = Field(
        default=None, description="Pasted text, summarized as given (size limit from settings)."
    )
    length: Literal["short", "medium", "long"] = Field(
        default="medium",
        description="short: 1-2 sentences; medium: 3-5; long: up to 10.",
    )
    max_words: int | None = Field(
        default=None, ge=10, le=2000, description="A word budget the summary stops at."
    )
    focus: str | None = Field(
        default=None, max_length=500, description="What the summary should be about."
    )
    filters: AskFilters = Field(
        default_factory=AskFilters, description="With ``query``: which sources may be retrieved."
    )
    stream: bool = Field(
        default=False, description="Progress and sentences as server-sent events, then the JSON."
    )


SUMMARIZE_EXAMPLES: dict[str, dict[str, Any]] = {
    "source": {
        "summary": "One document by its source id",
        "value": {"source": "Nikola_Tesla.md", "length": "short"},
    },
    "query": {
        "summary": "The documents about a topic",
        "value": {"query": "the Apollo program", "length": "medium"},
    },
    "text": {
        "summary": "Pasted text",
        "value": {
            "text": "The council voted on Tuesday to close the old bridge to cars from March. "
            "Cyclists and pedestrians may still cross it. A new bridge opens in 2027.",
            "length": "short",
        },
    },
    "focused": {
        "summary": "Several sources, focused",
        "value": {"sources": ["Rhine.md", "Warsaw.md"], "focus": "rivers", "stream": True},
    },
}

"""What an answer is: the typed result the answer pipeline returns to every caller.

These are pydantic models because the HTTP API returns them as they are (they are part of its
OpenAPI contract), but they belong to the pipeline: ``ask --local`` prints them and the service
serializes them, and neither has to translate one shape into another.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class Citation(BaseModel):
    """One ``[n]`` marker used by the answer and the passage it points at."""

    n: int
    source: str
    title: str
    heading: str
    snippet: str
    score: float


class Timings(BaseModel):
    """Milliseconds spent per stage; ``total`` includes time waiting for a generation slot."""

    retrieve: float
    generate: float
    total: float


class AskResponse(BaseModel):
    """A grounded answer with the passages it cites and the versions that produced it."""

    answer: str
    citations: list[Citation]
    index_version: str | None
    adapter_version: str | None
    base_model: str
    timings_ms: Timings


class SummarySentenceOut(BaseModel):
    """One sentence of a summary with the documents (``[n]``) it rests on."""

    text: str
    citations: list[int]
    from_source: bool = Field(
        description="The faithfulness guard replaced the model's sentence by this source sentence."
    )


class GuardReport(BaseModel):
    """What the faithfulness guard checked and did (names, numbers and dates of each sentence)."""

    generated_sentences: int
    mentions: int
    unsupported: int = Field(
        description="Mentions the cited documents do not hold, in the model's sentences before "
        "repair; the sentences shown hold none."
    )
    replaced: int
    dropped: int
    repeats: int


class SummaryResponse(BaseModel):
    """A summary of documents, each sentence cited, with the documents and how it was made."""

    summary: str = Field(description="The summary as one paragraph with [n] markers.")
    sentences: list[SummarySentenceOut]
    citations: list[Citation] = Field(description="The documents summarized; n as in the markers.")
    length: str
    parts: int = Field(description="Window-sized parts the documents were cut into.")
    model_calls: int
    guard: GuardReport
    index_version: str | None
    adapter_version: str | None
    base_model: str
    timings_ms: Timings

"""What an answer is: the typed result the answer pipeline returns to every caller.

These are pydantic models because the HTTP API returns them as they are (they are part of its
OpenAPI contract), but they belong to the pipeline: ``ask --local`` prints them and the service
serializes them, and neither has to translate one shape into another.
"""

from __future__ import annotations

from pydantic import BaseModel


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

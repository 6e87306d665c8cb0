"""The four systems compared: two models, each with and without retrieval.

Both models come from the one loader, ``engine.loader`` (the specialist exactly as ``specialist
serve`` loads it, the base model alone in the same serving dtype), so the evaluation's quality and
cost describe what users get.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class System:
    """One row of the comparison."""

    key: str
    label: str
    adapter: bool
    retrieval: bool


SYSTEMS: tuple[System, ...] = (
    System("base", "1. base model, closed book", adapter=False, retrieval=False),
    System("base+rag", "2. base model + retrieval", adapter=False, retrieval=True),
    System("specialist", "3. specialist, closed book", adapter=True, retrieval=False),
    System("specialist+rag", "4. specialist + retrieval (product)", adapter=True, retrieval=True),
)
MODEL_KINDS = ("base", "specialist")
"""The two models; each serves two systems (with and without retrieval)."""

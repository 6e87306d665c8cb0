"""The one consistent (index, specialist) pair an answer is written with, taken once per question.

A question is retrieved from one index version and answered by one adapter version; mixing the
index of one moment with the specialist of the next would cite passages the model never saw. The
pair is immutable: a caller that changes either part (the service's hot swap) builds a new pair,
and an answer keeps the pair it started with to the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.loader import Specialist
    from retrieval.search import HybridIndex


@dataclass(frozen=True)
class Engine:
    """One consistent (index, specialist) pair; everything a question needs."""

    index: HybridIndex
    specialist: Specialist

"""The systems compared: two references without a model, and two models with and without retrieval.

Both models come from the one loader, ``engine.loader`` (the specialist exactly as ``specialist
serve`` loads it, the base model alone in the same serving dtype), and every system with retrieval
answers through the product's pipeline, so the evaluation's quality and cost describe what users
get.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from engine.answering import AnswerPolicy
from evaluation.qa import Read, closed_book, extractive, with_retrieval
from specialist.errors import UserError

if TYPE_CHECKING:
    from engine.loader import Specialist
    from retrieval.search import HybridIndex
    from specialist.settings import Settings

Reading = Literal["closed-book", "generate", "product", "extractive"]


@dataclass(frozen=True)
class System:
    """One row of the comparison: which model (None: no model) reads, and how."""

    key: str
    label: str
    model: Literal["base", "specialist"] | None
    reading: Reading

    @property
    def retrieval(self) -> bool:
        """Whether the system answers from retrieved passages."""
        return self.reading != "closed-book"


SYSTEMS: tuple[System, ...] = (
    System("extractive", "0. best-matching sentence, copied (no model)", None, "extractive"),
    System("base", "1. base model, closed book", "base", "closed-book"),
    System("base+rag", "2. base model + retrieval", "base", "generate"),
    System("specialist", "3. specialist, closed book", "specialist", "closed-book"),
    System(
        "specialist+rag", "4. specialist + retrieval, generated answer", "specialist", "generate"
    ),
    System("product", "5. specialist + retrieval as served (product)", "specialist", "product"),
)
MODEL_KINDS: tuple[Literal["base", "specialist"] | None, ...] = (None, "base", "specialist")
"""Systems are run grouped by model, so each model is loaded once."""
ORACLE_LABEL = "oracle: gold answer in what the product read (ceiling)"


def system_keys(text: str) -> tuple[str, ...]:
    """The rows named by ``--systems`` (comma-separated keys); a clear error for unknown ones."""
    keys = tuple(key.strip() for key in text.split(",") if key.strip())
    known = [system.key for system in SYSTEMS]
    unknown = [key for key in keys if key not in known]
    if unknown or not keys:
        raise UserError(
            f"--systems: unknown system {', '.join(unknown) or '(none)'}; "
            f"choose from {', '.join(known)}"
        )
    return keys


def system_reader(
    system: System,
    specialist: Specialist | None,
    index: HybridIndex,
    settings: Settings,
    max_new_tokens: int,
) -> Read:
    """How ``system`` answers: the product uses the served reader (``SPECIALIST_READER``)."""
    policy = AnswerPolicy.from_settings(settings)
    if system.reading == "extractive":
        return extractive(settings.passage_words)
    assert specialist is not None, f"{system.key} needs a model"
    if system.reading == "closed-book":
        return closed_book(specialist, max_new_tokens)
    if system.reading == "generate":
        policy = replace(policy, reader=None)
    return with_retrieval(specialist, index, policy, max_new_tokens)

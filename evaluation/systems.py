"""The four systems compared, and how each one is loaded exactly as it would serve.

Both models are loaded the way ``specialist serve`` loads them (adapter merged in float32, then the
serving dtype), so the evaluation's quality and cost describe what users get.
"""

from __future__ import annotations

from dataclasses import dataclass

from specialist.adapters import Specialist
from specialist.errors import UserError
from specialist.settings import Settings


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


def load_system_model(settings: Settings, adapter: bool, version: str | None) -> Specialist:
    """The base model alone, or the specialist with ``version`` (default: the active adapter)."""
    if adapter:
        from service.runtime import load_serving_specialist

        specialist = load_serving_specialist(settings, version)
        if specialist.adapter_version is None:
            raise UserError("there is no adapter to evaluate; train one or pass --adapter VERSION")
        return specialist
    from specialist.models import load_base_model

    model, tokenizer = load_base_model(settings.model_copy(update={"dtype": settings.serve_dtype}))
    model.eval()
    return Specialist(model, tokenizer, settings.base_model, None)

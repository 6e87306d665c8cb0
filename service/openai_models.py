"""The models the OpenAI-compatible API offers, and the specialist a request's ``model`` picks.

The way vLLM lists ``--lora-modules``: the base model is a model, each adapter version registered
for it is a model whose ``parent`` is the base, and ``specialist`` is whichever adapter the service
serves now (it follows ``specialist adapters activate`` and ``POST /adapters/{v}/activate``). The
embedder is listed too, for ``/v1/embeddings``. Adapters trained for another base model are not
listed: this service could not answer with them.

A request for an adapter other than the served one is answered by that adapter, loaded on first
use and kept for the next requests (versions never change once written), a few at a time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from engine.fresh_thread import on_fresh_thread
from engine.loader import Specialist, load_specialist
from service.openai_errors import OpenAIError
from service.openai_schemas import ModelCard
from specialist.adapters import AdapterRegistry
from specialist.models import EMBEDDER_NAME
from specialist.settings import Settings

SERVED_MODEL = "specialist"
"""The model id of whatever adapter the service serves now."""
KEPT_SPECIALISTS = 2
"""Adapters besides the served one kept loaded (each holds a copy of the base model's weights)."""
OWNER = "specialist"


@dataclass(frozen=True)
class ChatModel:
    """What a chat request's ``model`` names: the served specialist or one adapter version."""

    id: str
    served: bool
    version: str | None = None
    """The adapter version; None with ``served`` False is the base model alone."""


def chat_models(settings: Settings, serving: Specialist | None, started: int) -> list[ModelCard]:
    """The chat models, the served one first, then the base and each of its adapter versions."""
    registry = AdapterRegistry(settings)
    base = settings.base_model
    current = serving.adapter_version if serving is not None else registry.current()
    cards = [
        ModelCard(
            id=SERVED_MODEL,
            created=started,
            owned_by=OWNER,
            root=current or base,
            parent=base if current else None,
        ),
        ModelCard(id=base, created=started, owned_by=OWNER, root=base, parent=None),
    ]
    for info in registry.list():
        if info.base_model == base:
            created = int(registry.path(info.version).stat().st_mtime)
            cards.append(
                ModelCard(
                    id=info.version, created=created, owned_by=OWNER, root=info.version, parent=base
                )
            )
    return cards


def embedding_model(started: int) -> ModelCard:
    """The index's embedder, the one model ``/v1/embeddings`` answers with."""
    return ModelCard(id=EMBEDDER_NAME, created=started, owned_by=OWNER, root=EMBEDDER_NAME)


def not_found(model: str, kind: str, known: list[str]) -> OpenAIError:
    """404 naming the models that do exist."""
    return OpenAIError(
        404,
        f"The model '{model}' does not exist or is not a {kind} model here; "
        f"{kind} models: {', '.join(known)}",
        param="model",
        code="model_not_found",
    )


def chat_model(settings: Settings, model: str) -> ChatModel:
    """The chat model ``model`` names, or 404 in OpenAI's shape."""
    if model == SERVED_MODEL:
        return ChatModel(model, served=True)
    if model == settings.base_model:
        return ChatModel(model, served=False)
    versions = [
        info.version
        for info in AdapterRegistry(settings).list()
        if info.base_model == settings.base_model
    ]
    if model in versions:
        return ChatModel(model, served=False, version=model)
    raise not_found(model, "chat", [SERVED_MODEL, settings.base_model, *versions])


class Specialists:
    """Specialists other than the served one, loaded on first use, the least recently used
    dropped beyond :data:`KEPT_SPECIALISTS`."""

    def __init__(self, settings: Settings, keep: int = KEPT_SPECIALISTS) -> None:
        self.settings = settings
        self.keep = keep
        self._loaded: OrderedDict[str | None, Specialist] = OrderedDict()
        self._lock = threading.Lock()

    def answering(self, choice: ChatModel, serving: Specialist) -> Specialist:
        """The specialist that answers for ``choice`` (the served one whenever it is that one)."""
        wanted = serving.adapter_version if choice.served else choice.version
        if wanted == serving.adapter_version:
            return serving
        with self._lock:
            if wanted not in self._loaded:
                self._loaded[wanted] = on_fresh_thread(
                    lambda: load_specialist(self.settings, wanted, adapter=wanted is not None),
                    name="adapter-load",
                )
                while len(self._loaded) > self.keep:
                    self._loaded.popitem(last=False)
            self._loaded.move_to_end(wanted)
            return self._loaded[wanted]

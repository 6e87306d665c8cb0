"""Typed dependencies, so route signatures read like the API's spec."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from engine.snapshot import Engine
from service.openai_models import Specialists
from service.pool import GenerationPool
from service.runtime import Runtime
from specialist.settings import Settings


def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    return request.app.state.settings


def get_runtime(request: Request) -> Runtime:
    """The loaded models and reindex jobs."""
    return request.app.state.runtime


def get_pool(request: Request) -> GenerationPool:
    """The bounded generation pool."""
    return request.app.state.pool


def get_specialists(request: Request) -> Specialists:
    """Adapters a chat request may choose besides the served one, loaded on first use."""
    return request.app.state.specialists


def current_engine(request: Request) -> Engine:
    """The snapshot a request answers with, taken once (503 while the service is loading)."""
    runtime = get_runtime(request)
    engine = runtime.engine()
    if engine is None:
        reason = runtime.problem() or "the service is still loading its models or index"
        raise HTTPException(503, reason, headers={"Retry-After": "5"})
    return engine


SettingsDep = Annotated[Settings, Depends(get_settings)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
PoolDep = Annotated[GenerationPool, Depends(get_pool)]
SpecialistsDep = Annotated[Specialists, Depends(get_specialists)]
ServingEngine = Annotated[Engine, Depends(current_engine)]

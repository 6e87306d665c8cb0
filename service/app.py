"""FastAPI application factory: state, routers, middleware and the background start-up."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from service.metrics import Metrics
from service.middleware import Guard, RequestMetrics
from service.openai_errors import field_problems, http_error, is_openai, validation_error
from service.openai_models import Specialists
from service.pool import GenerationPool
from service.routes import admin, ask, openai, status, summarize
from service.runtime import Runtime
from service.schemas import ERROR_RESPONSES
from specialist import __version__
from specialist.settings import Settings


async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 with one readable sentence (``field: problem; ...``) plus the structured errors.

    Under ``/v1/`` the same problem is answered in OpenAI's error shape.
    """
    if is_openai(request.url.path):
        return validation_error(exc)
    _, problems = field_problems(exc)
    return JSONResponse(
        status_code=422, content={"detail": problems, "errors": jsonable_encoder(exc.errors())}
    )


def create_app(settings: Settings, runtime: Runtime | None = None) -> FastAPI:
    """Build the app for ``settings``.

    Models load in a background thread after start-up, so ``/health`` answers at once and
    ``/ready`` says when answering can begin. Pass an already started ``runtime`` to share loaded
    models between apps (tests run the same models behind different settings).
    """
    owns_runtime = runtime is None
    runtime = runtime or Runtime(settings, Metrics())
    workers = settings.generation_workers
    if settings.engine == "llama-cpp":  # answers wait in the engine's batch, not for a worker
        workers = max(workers, settings.engine_slots)
    pool = GenerationPool(workers, settings.generation_queue, threads=settings.threads)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if owns_runtime:
            threading.Thread(target=runtime.start, name="startup", daemon=True).start()
        yield
        pool.shutdown()
        if owns_runtime:
            runtime.stop()

    app = FastAPI(
        title="specialist", version=__version__, lifespan=lifespan, responses=ERROR_RESPONSES
    )
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.pool = pool
    app.state.specialists = Specialists(settings)
    app.state.started = int(time.time())
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(HTTPException, http_error)
    for module in (status, ask, summarize, admin, openai):
        app.include_router(module.router)
    app.add_middleware(
        Guard,
        api_key=settings.api_key,
        max_body_bytes=settings.max_body_bytes,
        max_document_bytes=settings.max_document_bytes,
    )
    app.add_middleware(RequestMetrics, metrics=runtime.metrics)
    return app

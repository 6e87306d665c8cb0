"""The page, liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse, Response

from service.deps import PoolDep, RuntimeDep

PAGE = Path(__file__).resolve().parent.parent / "web" / "index.html"
router = APIRouter()


@router.get("/", include_in_schema=False)
def page() -> FileResponse:
    """The web page: ask, watch the answer stream in, read the cited passages."""
    return FileResponse(PAGE, media_type="text/html")


@router.get("/health")
def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/ready")
def ready(runtime: RuntimeDep) -> JSONResponse:
    """Readiness: the specialist and an index are loaded, and a remote engine answers (else 503
    with the reason)."""
    serving = runtime.serving
    problem = runtime.problem()
    body = {
        "ready": runtime.engine() is not None and problem is None,
        "specialist_loaded": serving.specialist is not None,
        "index_version": serving.index.version if serving.index is not None else None,
        "adapter_version": serving.specialist.adapter_version if serving.specialist else None,
        "indexing": runtime.jobs.busy(),
        "error": problem,
    }
    return JSONResponse(body, status_code=200 if body["ready"] else 503)


@router.get("/metrics", include_in_schema=False)
def prometheus(runtime: RuntimeDep, pool: PoolDep) -> Response:
    """Prometheus text format."""
    runtime.metrics.in_system.set(pool.in_system)
    return Response(runtime.metrics.render(), media_type="text/plain; version=0.0.4")

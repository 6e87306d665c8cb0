"""Live maintenance: reindex a document folder, list and switch adapters."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from service.deps import RuntimeDep, SettingsDep
from service.paths import PathRefusedError, confine
from service.relay import as_http_error
from service.runtime import AdapterRefusedError, UnknownAdapterError
from service.schemas import AdapterList, AdapterOut, ReindexJob, ReindexRequest
from specialist.errors import UserError

router = APIRouter()


@router.post("/reindex", status_code=202, response_model=ReindexJob)
def reindex(
    settings: SettingsDep, runtime: RuntimeDep, body: ReindexRequest | None = None
) -> ReindexJob:
    """Start indexing a folder inside the document roots; poll ``GET /reindex/{id}``.

    The path is confined before anything is touched: ``..`` and symlinks leading out of every
    root get 403 and no job.
    """
    try:
        folder = confine(body.path if body else None, settings.docs_dirs)
    except PathRefusedError as exc:
        raise HTTPException(403, str(exc)) from None
    if not folder.is_dir():
        raise HTTPException(422, f"path: {folder} is not a folder")
    return runtime.jobs.submit(folder)


@router.get("/reindex/{job_id}", response_model=ReindexJob)
def reindex_status(job_id: str, runtime: RuntimeDep) -> ReindexJob:
    """Progress of a reindex job and, once done, its report of skipped files."""
    job = runtime.jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"no reindex job {job_id!r}")
    return job


@router.get("/adapters", response_model=AdapterList)
def adapters(settings: SettingsDep, runtime: RuntimeDep) -> AdapterList:
    """Adapter versions on disk and the one being served."""
    from specialist.adapters import AdapterRegistry

    serving = runtime.serving.specialist
    served = serving.adapter_version if serving is not None else None
    rows = [
        AdapterOut(
            version=row.version,
            base_model=row.base_model,
            created=row.created,
            active=row.active,
            serving=row.version == served,
        )
        for row in AdapterRegistry(settings).list()
    ]
    return AdapterList(serving=served, base_model=settings.base_model, adapters=rows)


@router.post("/adapters/{version}/activate", response_model=AdapterList)
def activate(version: str, settings: SettingsDep, runtime: RuntimeDep) -> AdapterList:
    """Switch the served adapter without a restart (in-flight answers finish on the old one)."""
    if runtime.serving.specialist is None:
        raise HTTPException(503, "the service is still loading", headers={"Retry-After": "5"})
    try:
        runtime.activate_adapter(version)
    except UnknownAdapterError as exc:
        raise HTTPException(404, str(exc)) from None
    except AdapterRefusedError as exc:
        raise HTTPException(409, str(exc)) from None
    except UserError as exc:
        raise as_http_error(exc) from None
    return adapters(settings, runtime)

"""Reindex jobs: run one at a time in the background, remembered for ``GET /reindex/{id}``."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from service.schemas import ReindexJob, ReindexReport, SkippedFile
from specialist.errors import UserError

if TYPE_CHECKING:
    from retrieval.indexer import IndexReport

log = logging.getLogger(__name__)
KEEP_JOBS = 100


def report_model(report: IndexReport) -> ReindexReport:
    """The API view of the indexer's report."""
    return ReindexReport(
        version=report.version,
        files_indexed=report.files_indexed,
        files_unchanged=report.files_unchanged,
        files_deleted=report.files_deleted,
        chunks_total=report.chunks_total,
        seconds=round(report.seconds, 2),
        skipped=[SkippedFile(path=str(path), reason=reason) for path, reason in report.skipped],
    )


class ReindexJobs:
    """A single-worker queue of reindex jobs; the indexer itself allows one writer at a time."""

    def __init__(self, run: Callable[[Path], IndexReport]) -> None:
        self._run = run
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reindex")
        self._jobs: OrderedDict[str, ReindexJob] = OrderedDict()
        self._lock = threading.Lock()

    def submit(self, path: Path) -> ReindexJob:
        """Queue a reindex of ``path`` (already confined to the document roots)."""
        job = ReindexJob(
            id=secrets.token_hex(8), path=str(path), state="queued", created=time.time()
        )
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > KEEP_JOBS:
                self._jobs.popitem(last=False)
        self._executor.submit(self._execute, job.id, path)
        return job.model_copy()

    def get(self, job_id: str) -> ReindexJob | None:
        """A snapshot of the job, with its running time so far."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            snapshot = job.model_copy()
        if snapshot.started is not None:
            end = snapshot.finished or time.time()
            snapshot.elapsed_s = round(end - snapshot.started, 2)
        return snapshot

    def busy(self) -> bool:
        """Whether a job is queued or running."""
        with self._lock:
            return any(job.state in ("queued", "running") for job in self._jobs.values())

    def _update(self, job_id: str, **changes: object) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                self._jobs[job_id] = job.model_copy(update=changes)

    def _execute(self, job_id: str, path: Path) -> None:
        self._update(job_id, state="running", started=time.time())
        try:
            report = self._run(path)
        except UserError as exc:
            self._update(job_id, state="failed", error=str(exc), finished=time.time())
        except Exception as exc:
            log.exception("reindex of %s failed", path)
            self._update(
                job_id, state="failed", error=f"{type(exc).__name__}: {exc}", finished=time.time()
            )
        else:
            self._update(job_id, state="done", report=report_model(report), finished=time.time())

    def shutdown(self) -> None:
        """Drop queued jobs; a running one finishes (the indexer's writes are atomic anyway)."""
        self._executor.shutdown(wait=False, cancel_futures=True)

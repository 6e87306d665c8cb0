"""What the service answers with, and how it changes while requests are in flight.

The index and the specialist live in one immutable :class:`engine.snapshot.Engine` snapshot. A
request takes the snapshot once and uses it to the end; a reindex or an adapter switch builds the
new part fully, then replaces the snapshot with a single reference assignment (atomic in Python).
No reader ever takes a lock, and the old models are freed when the last request holding them
finishes.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from engine.fresh_thread import on_fresh_thread
from engine.loader import Specialist, load_specialist
from engine.remote import EngineUnavailableError
from engine.snapshot import Engine
from service.jobs import ReindexJobs
from service.metrics import Metrics
from specialist.errors import UserError
from specialist.settings import Settings

if TYPE_CHECKING:
    from retrieval.indexer import IndexReport
    from retrieval.search import HybridIndex

log = logging.getLogger(__name__)
POLL_SECONDS = 2.0


class AdapterRefusedError(UserError):
    """An adapter exists but cannot serve with the configured base model (HTTP 409)."""


class UnknownAdapterError(UserError):
    """No such adapter version (HTTP 404)."""


@dataclass(frozen=True)
class Serving:
    """What is loaded so far (either part may still be missing during start-up)."""

    index: HybridIndex | None = None
    specialist: Specialist | None = None


class Runtime:
    """Loads, serves and swaps the models of one service process."""

    def __init__(self, settings: Settings, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.serving = Serving()
        self.embedder = None
        self.startup_error: str | None = None
        self.bootstrap_job: str | None = None
        self.jobs = ReindexJobs(self.reindex)
        self._swap_lock = threading.RLock()
        self._failed_adapter: str | None = None
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None

    def engine(self) -> Engine | None:
        """The current snapshot, or None until both an index and the specialist are loaded."""
        serving = self.serving
        if serving.index is None or serving.specialist is None:
            return None
        return Engine(serving.index, serving.specialist)

    def start(self) -> None:
        """Load everything (blocking); call from a background thread so /health answers at once."""
        from engine.answering import AnswerPolicy
        from retrieval.search import open_index
        from specialist.models import load_embedder

        try:
            AnswerPolicy.from_settings(self.settings)  # a broken reader file fails at start
            self.embedder = load_embedder(self.settings)
            self._set(specialist=load_specialist(self.settings))
            index = open_index(self.settings, self.embedder)
            if index is not None:
                self._set(index=index)
            elif self.settings.docs_dirs:
                log.info("no index yet; indexing %s in the background", self.settings.docs_dirs[0])
                job = self.jobs.submit(Path(self.settings.docs_dirs[0]).resolve())
                self.bootstrap_job = job.id
        except UserError as exc:
            self.startup_error = str(exc)
            log.error("the service could not load its models: %s", exc)
            return
        except Exception as exc:
            self.startup_error = f"{type(exc).__name__}: {exc}"
            log.exception("the service could not load its models")
            return
        self._poller = threading.Thread(target=self._poll, name="version-poller", daemon=True)
        self._poller.start()
        if self.settings.watch and self.settings.docs_dirs:
            threading.Thread(target=self._watch, name="watcher", daemon=True).start()

    def _watch(self) -> None:
        """Reindex the first document root after each burst of file changes (incremental)."""
        from retrieval.watch import watch_folder

        root = Path(self.settings.docs_dirs[0]).resolve()
        watch_folder(
            root, lambda: self.jobs.submit(root), ignore=self.settings.home, stop=self._stop
        )

    def problem(self) -> str | None:
        """Why the service cannot become ready on its own (failed loading or first indexing)."""
        if self.startup_error:
            return self.startup_error
        return self.engine_problem() or self._bootstrap_problem()

    def engine_problem(self) -> str | None:
        """Why a remote engine cannot generate now (None with the local engine or when it can)."""
        specialist = self.serving.specialist
        if specialist is None or specialist.remote is None:
            return None
        return specialist.remote.engine.available()

    def _bootstrap_problem(self) -> str | None:
        job = self.jobs.get(self.bootstrap_job) if self.bootstrap_job else None
        if job is not None and job.state == "failed" and self.serving.index is None:
            return f"indexing {job.path} failed: {job.error}"
        return None

    def reindex(self, folder: Path) -> IndexReport:
        """Index ``folder`` into a new version and serve it (runs in the reindex worker)."""
        from retrieval.indexer import build_index

        report = on_fresh_thread(
            lambda: build_index(self.settings, folder, progress=False, embedder=self.embedder),
            name="reindex-embed",
        )
        self.reload_index()
        return report

    def reload_index(self) -> None:
        """Open the current index version and swap it in when it differs from the served one."""
        from retrieval.search import open_index

        with self._swap_lock:
            index = open_index(self.settings, self.embedder)
            served = self.serving.index
            if index is not None and (served is None or served.version != index.version):
                self._set(index=index)

    def activate_adapter(self, version: str) -> Specialist:
        """Load ``version`` fully, move the registry's pointer, then swap it in.

        Requests already generating keep the specialist they started with.
        """
        from specialist.adapters import AdapterRegistry

        registry = AdapterRegistry(self.settings)
        info = next((row for row in registry.list() if row.version == version), None)
        if info is None:
            known = ", ".join(row.version for row in registry.list()) or "none"
            raise UnknownAdapterError(f"no adapter version {version!r}; known versions: {known}")
        if info.base_model != self.settings.base_model:
            raise AdapterRefusedError(
                f"adapter {version} was trained for base model {info.base_model!r}, but this "
                f"service runs {self.settings.base_model!r}"
            )
        with self._swap_lock:
            specialist = self._load_specialist(version)
            registry.activate(version)
            self._set(specialist=specialist)
        return specialist

    def _load_specialist(self, version: str | None) -> Specialist:
        """Load an adapter while serving, on a thread that ends after (answers stay fast).

        With a remote engine, the engine must serve the version before anyone switches to it.
        """
        specialist = on_fresh_thread(
            lambda: load_specialist(self.settings, version), name="adapter-load"
        )
        if specialist.remote is not None:
            specialist.remote.prepare()
        return specialist

    def _set(self, **parts: object) -> None:
        """Replace the snapshot (one reference assignment) and update the gauges."""
        with self._swap_lock:
            replaced = self.serving.specialist
            self.serving = replace(self.serving, **parts)
            index, specialist = self.serving.index, self.serving.specialist
        if replaced is not None and replaced is not specialist:
            replaced.retire()
        self.metrics.serving(
            index.num_chunks if index is not None else None,
            specialist.adapter_version if specialist is not None else None,
            specialist.base_model if specialist is not None else None,
        )

    def _poll(self) -> None:
        """Follow versions switched outside the service (``specialist index``, ``adapters activate``)."""
        from retrieval.indexer import index_store
        from specialist.adapters import AdapterRegistry

        store = index_store(self.settings)
        registry = AdapterRegistry(self.settings)
        while not self._stop.wait(POLL_SECONDS):
            try:
                served = self.serving
                current_index = store.current()
                if current_index and (
                    served.index is None or served.index.version != current_index
                ):
                    self.reload_index()
                current_adapter = registry.current()
                if (
                    served.specialist is not None
                    and current_adapter != served.specialist.adapter_version
                    and current_adapter != self._failed_adapter
                ):
                    self._follow_adapter(current_adapter)
            except Exception:
                log.exception("could not follow a version switch; keeping the served versions")

    def _follow_adapter(self, version: str | None) -> None:
        """Serve the adapter made current outside the service; a broken one is tried only once."""
        with self._swap_lock:
            if version == self.serving.specialist.adapter_version:
                return
            try:
                self._set(specialist=self._load_specialist(version))
            except EngineUnavailableError as exc:
                log.warning("adapter %s waits for the engine: %s", version, exc)
            except UserError as exc:
                self._failed_adapter = version
                log.error("not switching to adapter %s: %s", version, exc)

    def stop(self) -> None:
        """Stop background threads (the reindex worker finishes its current job)."""
        self._stop.set()
        self.jobs.shutdown()
        if self.serving.specialist is not None:
            self.serving.specialist.retire()

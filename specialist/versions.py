"""The one on-disk layout for versioned artifacts (index builds, LoRA adapters).

::

    <root>/
      versions/<version>/    finished versions, never modified after they appear
      .tmp-<version>/        a version being written (removed if its writer died)
      pointer.json           {"current": ..., "history": [...]}, replaced atomically
      .write.lock            held by the one process allowed to write

A version folder appears by ``os.replace`` of a fully written, fsynced temporary folder, and the
``current`` pointer moves by ``os.replace`` of a fsynced file, so a crash at any moment leaves the
last good version current and loadable.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from specialist.errors import BusyError, UserError


def fsync_tree(folder: Path) -> None:
    """Flush every file below ``folder`` and the folders themselves to disk."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
    for path in [folder, *(p for p in folder.rglob("*") if p.is_dir())]:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so readers see the old or the new content, never a mix."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    with tmp.open("w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def new_version_name() -> str:
    """Sortable, unique name (UTC time to the microsecond; writers are serialized by the lock)."""
    now = time.time()
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime(now)) + f"-{int(now % 1 * 1e6):06d}"


@dataclass
class PendingVersion:
    """A version being written; files go under ``path`` until the store commits it."""

    name: str
    path: Path


class VersionStore:
    """Versions of one kind of artifact under ``root`` with an atomically switched ``current``."""

    def __init__(self, root: Path, kind: str, keep: int = 3) -> None:
        self.root = root
        self.kind = kind
        self.keep = keep
        self.versions_dir = root / "versions"
        self._pointer = root / "pointer.json"

    def _read_pointer(self) -> dict:
        try:
            return json.loads(self._pointer.read_text())
        except FileNotFoundError:
            return {"current": None, "history": []}

    def current(self) -> str | None:
        """Name of the version being served, or None before the first one."""
        name = self._read_pointer()["current"]
        return name if name and (self.versions_dir / name).is_dir() else None

    def current_path(self) -> Path | None:
        """Folder of the current version, or None."""
        name = self.current()
        return self.versions_dir / name if name else None

    def path(self, version: str) -> Path:
        """Folder of ``version``; a clear error when it does not exist."""
        folder = self.versions_dir / version
        if "/" in version or version.startswith(".") or not folder.is_dir():
            known = ", ".join(self.list()) or "none"
            raise UserError(f"no {self.kind} version {version!r}; known versions: {known}")
        return folder

    def list(self) -> list[str]:
        """Finished versions, oldest first."""
        if not self.versions_dir.is_dir():
            return []
        return sorted(p.name for p in self.versions_dir.iterdir() if p.is_dir())

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """Exclusive right to write; a second writer fails at once with a clear message."""
        self.root.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.root / ".write.lock"))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise BusyError(
                f"another process is already writing a {self.kind} in {self.root}; "
                "wait for it to finish"
            ) from None
        try:
            yield
        finally:
            lock.release()

    @contextmanager
    def new_version(self, activate: bool = True) -> Iterator[PendingVersion]:
        """Write a version: yields a temporary folder, commits it (and switches to it) on success.

        On an exception the temporary folder is removed and ``current`` is untouched. The caller
        must hold :meth:`write_lock`.
        """
        self._remove_stale_temporaries()
        name = new_version_name()
        pending = PendingVersion(name, self.root / f".tmp-{name}")
        pending.path.mkdir(parents=True)
        try:
            yield pending
            fsync_tree(pending.path)
            self.versions_dir.mkdir(parents=True, exist_ok=True)
            os.replace(pending.path, self.versions_dir / name)
        except BaseException:
            shutil.rmtree(pending.path, ignore_errors=True)
            raise
        if activate:
            self.activate(name)

    def activate(self, version: str) -> None:
        """Make ``version`` current (atomic pointer switch), remembering the previous one."""
        self.path(version)
        pointer = self._read_pointer()
        history = [v for v in pointer.get("history", []) if v != version]
        if pointer.get("current") and pointer["current"] != version:
            history.append(pointer["current"])
        atomic_write_text(self._pointer, json.dumps({"current": version, "history": history[-20:]}))
        self.prune()

    def rollback(self) -> str:
        """Switch back to the version that was current before this one; returns it."""
        pointer = self._read_pointer()
        history = [v for v in pointer.get("history", []) if (self.versions_dir / v).is_dir()]
        if not history:
            raise UserError(f"no earlier {self.kind} version to roll back to")
        previous = history.pop()
        atomic_write_text(self._pointer, json.dumps({"current": previous, "history": history}))
        return previous

    def prune(self) -> list[str]:
        """Delete old versions beyond ``keep``, never the current one or its rollback target."""
        pointer = self._read_pointer()
        protected = {pointer.get("current"), *pointer.get("history", [])[-1:]}
        versions = self.list()
        removable = [v for v in versions[: max(0, len(versions) - self.keep)] if v not in protected]
        for version in removable:
            trash = self.root / f".trash-{version}"
            os.replace(self.versions_dir / version, trash)
            shutil.rmtree(trash, ignore_errors=True)
        return removable

    def _remove_stale_temporaries(self) -> None:
        """Temporary folders left by a killed writer (safe: we hold the write lock)."""
        for leftover in self.root.glob(".tmp-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        for leftover in self.root.glob(".trash-*"):
            shutil.rmtree(leftover, ignore_errors=True)

"""Watch a folder and call back once per burst of changes (create, modify, delete, rename).

Editors and copy tools touch a file several times in a row, so events are coalesced: the callback
runs when the folder has been quiet for ``settle`` seconds. Reindexing is incremental, so the
callback simply indexes the whole folder again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path


def watch_folder(
    folder: Path,
    on_change: Callable[[], None],
    *,
    ignore: Path | None = None,
    settle: float = 1.0,
    stop: threading.Event | None = None,
) -> None:
    """Block until ``stop`` is set (or Ctrl-C), calling ``on_change`` after each burst."""
    from watchdog.events import FileSystemEvent, FileSystemEventHandler
    from watchdog.observers import Observer

    changed = threading.Event()
    ignored = ignore.resolve() if ignore else None

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event: FileSystemEvent) -> None:
            if event.event_type in ("opened", "closed_no_write"):
                return
            if event.is_directory and event.event_type == "modified":
                return  # a child's own event follows; a folder moved in still counts
            for raw in (event.src_path, getattr(event, "dest_path", "") or ""):
                if raw and _relevant(Path(str(raw)), folder, ignored):
                    changed.set()

    stop = stop or threading.Event()
    observer = Observer()
    observer.schedule(Handler(), str(folder), recursive=True)
    observer.start()
    try:
        while not stop.is_set():
            if not changed.wait(timeout=0.2):
                continue
            while changed.is_set() and not stop.is_set():
                changed.clear()
                stop.wait(settle)
            if not stop.is_set():
                on_change()
    except KeyboardInterrupt:
        pass
    finally:
        observer.stop()
        observer.join()


def _relevant(path: Path, folder: Path, ignored: Path | None) -> bool:
    """Hidden files and the index's own home folder never trigger a reindex."""
    try:
        parts = path.resolve().relative_to(folder.resolve()).parts
    except ValueError:
        return False
    if any(part.startswith(".") for part in parts):
        return False
    return ignored is None or not path.resolve().is_relative_to(ignored)

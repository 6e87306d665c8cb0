"""Watch mode: a file dropped into the first document root is indexed and served by itself."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from service.runtime import Runtime
from specialist.settings import load_settings

pytestmark = pytest.mark.slow


def test_watch_reindexes_on_change(tmp_path: Path, settings, embedder) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    (home / "cache").symlink_to(settings.cache_dir, target_is_directory=True)
    runtime = Runtime(load_settings(home=home, docs_dirs=[docs], watch=True, threads=1))
    runtime.embedder = embedder
    watcher = threading.Thread(target=runtime._watch, daemon=True)
    watcher.start()
    try:
        time.sleep(0.5)
        (docs / "note.md").write_text("# Note\n\nThe lighthouse keeper paints the door blue.")
        deadline = time.monotonic() + 60
        while runtime.serving.index is None:
            assert time.monotonic() < deadline, "the change was never indexed"
            time.sleep(0.2)
        hits = runtime.serving.index.search("What colour is the door?", k=1)
        assert hits[0].source == "note.md"
    finally:
        runtime.stop()
        watcher.join(10)

"""Incremental, atomic indexing: reuse, add, modify, delete, rename, skips, errors, lock, pruning."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from retrieval.indexer import build_index, index_store
from retrieval.search import open_index
from specialist.errors import BusyError, UserError


def build(settings, folder: Path, root: Path, embedder):
    return build_index(settings, folder, progress=False, embedder=embedder, root=root)


def sources(settings, root: Path, embedder) -> set[str]:
    index = open_index(settings, embedder, root=root)
    assert index is not None
    return {chunk.source for chunk in index.chunks}


def test_incremental_add_modify_delete_rename(settings, embedder, corpus, index_root) -> None:
    first = build(settings, corpus, index_root, embedder)
    assert (first.files_indexed, first.files_unchanged, first.changed) == (3, 0, True)
    assert first.chunks_embedded == first.chunks_total > 0

    unchanged = build(settings, corpus, index_root, embedder)
    assert not unchanged.changed and unchanged.version == first.version
    assert unchanged.chunks_embedded == 0 and unchanged.files_unchanged == 3

    (corpus / "new.md").write_text("# Volcanoes\n\nEtna erupts often.\n")
    added = build(settings, corpus, index_root, embedder)
    assert (added.files_indexed, added.files_unchanged) == (1, 3)
    assert added.chunks_embedded == 1 and added.version != first.version

    (corpus / "space.md").write_text("# Space flight\n\nVoyager 1 left the heliosphere.\n")
    modified = build(settings, corpus, index_root, embedder)
    assert (modified.files_indexed, modified.files_unchanged) == (1, 3)
    index = open_index(settings, embedder, root=index_root)
    texts = " ".join(c.text for c in index.chunks)
    assert "Voyager" in texts and "Apollo" not in texts

    (corpus / "notes" / "cooking.txt").unlink()
    deleted = build(settings, corpus, index_root, embedder)
    assert deleted.files_deleted == 1
    assert "notes/cooking.txt" not in sources(settings, index_root, embedder)

    os.replace(corpus / "rivers.md", corpus / "waterways.md")
    renamed = build(settings, corpus, index_root, embedder)
    assert (renamed.files_renamed, renamed.files_deleted, renamed.files_indexed) == (1, 0, 0)
    assert renamed.chunks_embedded == 0, "a renamed file reuses its embeddings"
    assert sources(settings, index_root, embedder) == {"new.md", "space.md", "waterways.md"}
    hit = open_index(settings, embedder, root=index_root).search("Rhine barges", k=1)[0]
    assert hit.source == "waterways.md"


def test_touched_but_identical_file_is_not_reembedded(settings, embedder, corpus, index_root):
    build(settings, corpus, index_root, embedder)
    os.utime(corpus / "space.md", ns=(1, 1))
    report = build(settings, corpus, index_root, embedder)
    assert report.files_unchanged == 3 and report.chunks_embedded == 0


def test_skipped_files_are_reported(settings, embedder, corpus, index_root, write) -> None:
    write(
        corpus,
        {
            "blob.txt": b"\x00\x01\x02binary",
            "photo.png": b"\x89PNG....",
            "latin1.md": b"caf\xe9 cr\xe8me",
            "huge.txt": "word " * 600,
        },
    )
    small_cap = settings.model_copy(update={"max_file_mb": 0.002})
    report = build(small_cap, corpus, index_root, embedder)
    reasons = dict(report.skipped)
    assert reasons["blob.txt"] == "binary content"
    assert reasons["photo.png"] == "unsupported file type .png"
    assert reasons["latin1.md"] == "not valid UTF-8 text"
    assert reasons["huge.txt"].startswith("larger than")
    assert report.files_indexed == 3
    again = build(small_cap, corpus, index_root, embedder)
    assert dict(again.skipped) == reasons, "an unchanged run still lists the skipped files"


def test_clear_errors(settings, embedder, tmp_path, index_root, write) -> None:
    with pytest.raises(UserError, match="no such folder"):
        build(settings, tmp_path / "missing", index_root, embedder)
    file = write(tmp_path / "f", {"x.md": "# X\n\nx\n"}) / "x.md"
    with pytest.raises(UserError, match="not a folder"):
        build(settings, file, index_root, embedder)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no file that can be indexed"):
        build(settings, tmp_path / "empty", index_root, embedder)
    assert open_index(settings, embedder, root=index_root) is None


def test_second_writer_is_refused(settings, embedder, corpus, index_root) -> None:
    lock = index_store(settings, index_root).write_lock()
    with lock, pytest.raises(BusyError, match="already writing"):
        build(settings, corpus, index_root, embedder)


def test_old_versions_are_pruned(settings, embedder, corpus, index_root) -> None:
    keep_two = settings.model_copy(update={"index_keep_versions": 2})
    for i in range(4):
        (corpus / "counter.md").write_text(f"# Counter\n\nRun number {i}.\n")
        build(keep_two, corpus, index_root, embedder)
    assert len(index_store(keep_two, index_root).list()) == 2


def test_killed_indexer_leaves_previous_version_served(
    settings, embedder, corpus, index_root, write
) -> None:
    first = build(settings, corpus, index_root, embedder)
    write(corpus, {f"bulk/{i}.md": f"# Note {i}\n\nItem {i} of a long list.\n" for i in range(60)})
    script = (
        "import sys; from pathlib import Path; from specialist.settings import load_settings;"
        "from retrieval.indexer import build_index;"
        "build_index(load_settings(embed_batch_size=1, threads=1), Path(sys.argv[1]),"
        " root=Path(sys.argv[2]))"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(corpus), str(index_root)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    embedding = threading.Event()

    def watch_stderr() -> None:
        for line in iter(lambda: child.stderr.read(64), b""):
            if b"Batches" in line:
                embedding.set()

    threading.Thread(target=watch_stderr, daemon=True).start()
    assert embedding.wait(timeout=120), "the child indexer never started embedding"
    time.sleep(0.3)
    assert child.poll() is None, "the child finished before it could be killed"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()

    index = open_index(settings, embedder, root=index_root)
    assert index is not None and index.version == first.version
    assert index.search("Rhine", k=1)[0].source == "rivers.md"
    report = build(settings, corpus, index_root, embedder)
    assert report.version != first.version and report.files_indexed == 60
    assert not list(index_root.glob(".tmp-*"))


def test_bad_beir_record_is_reported_and_the_rest_indexed(
    settings, embedder, tmp_path, index_root, write
) -> None:
    records = [
        '{"_id": "a", "text": "Owls hunt at night\u2028and sleep by day."}',
        '{"_id": "b", "text": "broken',
        '{"_id": "c", "text": "Salmon swim upstream\u0085to spawn."}',
    ]
    folder = write(tmp_path / "beir", {"corpus.jsonl": "\n".join(records) + "\n"})
    report = build(settings, folder, index_root, embedder)
    problem = ("corpus.jsonl", "line 2 left out: not a BEIR record with _id and text")
    assert report.skipped == [problem]
    assert report.files_indexed == 1 and report.chunks_total == 2
    assert sources(settings, index_root, embedder) == {"corpus.jsonl#a", "corpus.jsonl#c"}
    again = build(settings, folder, index_root, embedder)
    assert not again.changed and again.skipped == [problem], "an unchanged run still lists it"

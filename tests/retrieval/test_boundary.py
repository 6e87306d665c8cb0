"""The folder being indexed is a boundary: links out of it, ``..`` and linked roots never leak."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from retrieval.indexer import (
    LINK_EXCLUDED,
    LINK_LOOP,
    LINK_NOT_FOLLOWED,
    LINK_OUTSIDE,
    REPLACED,
    _Build,
    build_index,
)
from retrieval.search import open_index

SECRET = "The launch code is ZEBRA-4471, kept in the vault under the old mill."


def build(settings, folder: Path, root: Path, embedder, **overrides):
    if overrides:
        settings = settings.model_copy(update=overrides)
    return build_index(settings, folder, progress=False, embedder=embedder, root=root)


def assert_secret_not_served(settings, index_root: Path, embedder) -> None:
    """No chunk holds the secret, and neither search method finds it."""
    index = open_index(settings, embedder, root=index_root)
    assert index is not None
    assert not [c.source for c in index.chunks if "ZEBRA" in c.text or "launch" in c.text]
    for mode in ("hybrid", "dense", "bm25"):
        hits = index.retrieve("launch code ZEBRA-4471 vault", 10, mode, None)
        assert not [h.source for h in hits if "ZEBRA" in h.text], mode


@pytest.fixture
def secret(tmp_path: Path, write) -> Path:
    """A folder outside the document root holding a secret file."""
    return write(tmp_path / "elsewhere", {"secret.txt": SECRET, "deeper/plans.md": SECRET})


@pytest.mark.parametrize("follow", [False, True])
def test_symlinked_file_outside_is_never_indexed(
    settings, embedder, corpus, index_root, secret, follow
) -> None:
    (corpus / "notes.txt").symlink_to(secret / "secret.txt")
    (corpus / "up.txt").symlink_to(Path("..") / "elsewhere" / "secret.txt")  # relative, via ..
    report = build(settings, corpus, index_root, embedder, follow_links=follow)
    reasons = dict(report.skipped)
    assert reasons["notes.txt"] == LINK_OUTSIDE
    assert reasons["up.txt"] == LINK_OUTSIDE
    assert report.files_indexed == 3
    assert_secret_not_served(settings, index_root, embedder)


@pytest.mark.parametrize("follow", [False, True])
def test_symlinked_folder_outside_is_never_walked(
    settings, embedder, corpus, index_root, secret, follow
) -> None:
    (corpus / "linked").symlink_to(secret, target_is_directory=True)
    (corpus / "notes" / "deeper").symlink_to(secret / "deeper", target_is_directory=True)
    report = build(settings, corpus, index_root, embedder, follow_links=follow)
    reasons = dict(report.skipped)
    assert reasons["linked"] == LINK_OUTSIDE
    assert reasons["notes/deeper"] == LINK_OUTSIDE
    assert not [rel for rel in reasons if rel.startswith("linked/")]
    assert_secret_not_served(settings, index_root, embedder)


def test_file_that_becomes_a_link_outside_is_dropped(
    settings, embedder, corpus, index_root, secret
) -> None:
    notes = corpus / "notes.txt"
    notes.write_text("Harmless shopping list: apples and pears.\n")
    assert build(settings, corpus, index_root, embedder).files_indexed == 4
    # same size and mtime as the file it replaces, so a stat-only check would keep the old entry
    (secret / "secret.txt").write_text(SECRET[: notes.stat().st_size].ljust(notes.stat().st_size))
    os.utime(secret / "secret.txt", ns=(notes.stat().st_atime_ns, notes.stat().st_mtime_ns))
    notes.unlink()
    notes.symlink_to(secret / "secret.txt")
    report = build(settings, corpus, index_root, embedder)
    assert report.changed and dict(report.skipped)["notes.txt"] == LINK_OUTSIDE
    index = open_index(settings, embedder, root=index_root)
    assert "notes.txt" not in {c.source for c in index.chunks}
    assert not [c for c in index.chunks if "apples" in c.text]
    assert_secret_not_served(settings, index_root, embedder)
    again = build(settings, corpus, index_root, embedder)
    assert not again.changed and dict(again.skipped)["notes.txt"] == LINK_OUTSIDE


def test_root_that_is_a_link_or_has_dotdot_indexes_its_own_files(
    settings, embedder, corpus, index_root, secret, tmp_path
) -> None:
    alias = tmp_path / "alias"
    alias.symlink_to(corpus, target_is_directory=True)
    (corpus / "notes.txt").symlink_to(secret / "secret.txt")
    report = build(settings, alias, index_root, embedder)
    assert report.folder == str(corpus.resolve())
    assert report.files_indexed == 3
    assert dict(report.skipped)["notes.txt"] == LINK_OUTSIDE
    expected = {"rivers.md", "space.md", "notes/cooking.txt"}
    index = open_index(settings, embedder, root=index_root)
    assert {c.source for c in index.chunks} == expected
    assert_secret_not_served(settings, index_root, embedder)

    dotdot = build(settings, corpus / "notes" / "..", index_root, embedder)
    assert dotdot.folder == str(corpus.resolve()) and not dotdot.changed
    escaped = build(settings, corpus / ".." / "elsewhere", tmp_path / "other-index", embedder)
    assert escaped.folder == str(secret.resolve()), "`..` names the real folder, not a trick"


def test_inside_links_follow_the_setting(
    settings, embedder, corpus, index_root, secret, write
) -> None:
    write(corpus, {".private/diary.md": "# Diary\n\nA private entry about pelicans.\n"})
    (corpus / "alias.md").symlink_to(corpus / "space.md")
    (corpus / "shortcut").symlink_to(Path("notes"), target_is_directory=True)
    (corpus / "notes" / "back").symlink_to(Path(".."), target_is_directory=True)  # a loop
    (corpus / "diary.md").symlink_to(corpus / ".private" / "diary.md")
    (corpus / "notes.txt").symlink_to(secret / "secret.txt")

    off = dict(build(settings, corpus, index_root, embedder).skipped)
    for link in ("alias.md", "shortcut", "notes/back", "diary.md"):
        assert off[link] == LINK_NOT_FOLLOWED, link
    assert off["notes.txt"] == LINK_OUTSIDE

    report = build(settings, corpus, index_root, embedder, follow_links=True)
    on = dict(report.skipped)
    assert on["notes.txt"] == LINK_OUTSIDE
    assert on["notes/back"] == LINK_LOOP and on["shortcut/back"] == LINK_LOOP
    assert on["diary.md"] == LINK_EXCLUDED
    index = open_index(settings, embedder, root=index_root)
    sources = {c.source for c in index.chunks}
    assert {"alias.md", "shortcut/cooking.txt", "space.md", "notes/cooking.txt"} <= sources
    assert not [c for c in index.chunks if "pelicans" in c.text]
    assert_secret_not_served(settings, index_root, embedder)


def test_file_swapped_for_a_link_after_the_scan_is_not_read(
    settings, embedder, corpus, index_root, secret, monkeypatch
) -> None:
    scan = _Build._scan

    def scan_then_swap(self):
        found = scan(self)
        (corpus / "space.md").unlink()
        (corpus / "space.md").symlink_to(secret / "secret.txt")
        (corpus / "notes").rename(corpus / "notes-old")
        (corpus / "notes").symlink_to(secret, target_is_directory=True)
        (secret / "cooking.txt").write_text(SECRET)
        return found

    monkeypatch.setattr(_Build, "_scan", scan_then_swap)
    report = build(settings, corpus, index_root, embedder)
    reasons = dict(report.skipped)
    assert reasons["space.md"] == REPLACED
    assert reasons["notes/cooking.txt"] == REPLACED
    assert report.files_indexed == 1
    assert_secret_not_served(settings, index_root, embedder)

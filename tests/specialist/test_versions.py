from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from specialist.errors import BusyError, UserError
from specialist.versions import VersionStore


def _write(store: VersionStore, text: str) -> str:
    with store.write_lock(), store.new_version() as pending:
        (pending.path / "data.txt").write_text(text)
    return pending.name


def test_commit_activates_and_rollback_returns_to_previous(tmp_path: Path) -> None:
    store = VersionStore(tmp_path, "index")
    assert store.current() is None
    first = _write(store, "one")
    second = _write(store, "two")
    assert store.current() == second
    assert (store.current_path() / "data.txt").read_text() == "two"
    assert store.rollback() == first
    assert store.current() == first
    store.activate(second)
    assert store.current() == second


def test_failed_write_leaves_current_untouched(tmp_path: Path) -> None:
    store = VersionStore(tmp_path, "index")
    good = _write(store, "good")
    with pytest.raises(RuntimeError), store.write_lock(), store.new_version() as pending:
        (pending.path / "data.txt").write_text("half")
        raise RuntimeError("crash mid-write")
    assert store.current() == good
    assert store.list() == [good]
    assert not list(tmp_path.glob(".tmp-*"))


def _hold_lock(root: str, ready, release) -> None:
    store = VersionStore(Path(root), "index")
    with store.write_lock():
        ready.set()
        release.wait(30)


def test_second_writer_gets_a_clear_busy_error(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(tmp_path), ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        with (
            pytest.raises(BusyError, match="another process"),
            VersionStore(tmp_path, "index").write_lock(),
        ):
            pass
    finally:
        release.set()
        holder.join(30)


def test_prune_keeps_the_newest_versions(tmp_path: Path) -> None:
    store = VersionStore(tmp_path, "adapter", keep=2)
    names = [_write(store, str(i)) for i in range(4)]
    assert store.list() == names[-2:]
    with pytest.raises(UserError, match="no adapter version"):
        store.activate(names[0])


def test_prune_never_deletes_the_current_version_or_its_rollback_target(tmp_path: Path) -> None:
    """Rolled back to old versions, they are the oldest on disk and still must survive prune.

    Five versions are written with a generous ``keep``; version 1 and then version 0 are activated,
    so version 0 is current and version 1 its rollback target. With ``keep=2`` the three oldest
    (0, 1, 2) are beyond the limit, but only 2 is unprotected and deleted.
    """
    writer = VersionStore(tmp_path, "adapter", keep=10)
    names = [_write(writer, str(i)) for i in range(5)]
    writer.activate(names[1])
    writer.activate(names[0])
    pruner = VersionStore(tmp_path, "adapter", keep=2)
    assert pruner.prune() == [names[2]]
    assert pruner.list() == [names[0], names[1], names[3], names[4]]
    assert pruner.current() == names[0]
    assert (pruner.current_path() / "data.txt").read_text() == "0"
    assert pruner.rollback() == names[1]
    assert (pruner.current_path() / "data.txt").read_text() == "1"

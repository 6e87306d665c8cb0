"""The adapter registry: shipped default import, base-model check, damaged adapters, rollback."""

from __future__ import annotations

import json
import shutil

import pytest

from engine.loader import load_specialist
from specialist.adapters import ADAPTER_WEIGHTS, METRICS, AdapterRegistry
from specialist.errors import UserError

pytestmark = pytest.mark.slow


def add_copy(registry: AdapterRegistry, source, edit=None) -> str:
    """Commit a copy of the adapter in ``source`` as a new, inactive version."""
    with registry.store.write_lock(), registry.store.new_version(activate=False) as pending:
        for path in source.iterdir():
            shutil.copy2(path, pending.path / path.name)
        if edit:
            edit(pending.path)
    return pending.name


def test_empty_registry_imports_the_shipped_adapter(make_home, trained) -> None:
    _, result = trained
    registry = AdapterRegistry(make_home(), shipped=result.path)
    rows = registry.list()
    assert len(rows) == 1 and rows[0].active
    assert registry.current() == rows[0].version
    assert "dev_loss" in rows[0].metrics


def test_no_adapter_means_base_model(make_home, tmp_path) -> None:
    settings = make_home()
    registry = AdapterRegistry(settings, shipped=tmp_path / "missing")
    assert registry.current() is None
    assert registry.list() == []


def test_adapter_for_another_base_model_is_refused(make_home, trained) -> None:
    _, result = trained
    registry = AdapterRegistry(make_home(), shipped=result.path)
    registry.current()

    def other_base(folder) -> None:
        metrics = json.loads((folder / METRICS).read_text())
        metrics["base_model"] = "gemma3-270m"
        (folder / METRICS).write_text(json.dumps(metrics))

    version = add_copy(registry, result.path, other_base)
    with pytest.raises(UserError, match="trained for base model 'gemma3-270m'"):
        registry.activate(version)
    with pytest.raises(UserError, match="trained for base model"):
        load_specialist(registry.settings, version)
    assert registry.current() != version


def test_damaged_adapter_raises_instead_of_serving_the_base_model(make_home, trained) -> None:
    _, result = trained
    registry = AdapterRegistry(make_home(), shipped=result.path)
    registry.current()

    def truncate(folder) -> None:
        data = (folder / ADAPTER_WEIGHTS).read_bytes()
        (folder / ADAPTER_WEIGHTS).write_bytes(data[: len(data) // 2])

    version = add_copy(registry, result.path, truncate)
    registry.activate(version)
    with pytest.raises(UserError, match="damaged"):
        load_specialist(registry.settings)


def test_activate_and_rollback(make_home, trained) -> None:
    _, result = trained
    registry = AdapterRegistry(make_home(), shipped=result.path)
    first = registry.current()
    second = add_copy(registry, result.path)
    registry.activate(second)
    assert registry.current() == second
    assert registry.rollback() == first
    assert registry.current() == first
    with pytest.raises(UserError, match="no adapter version 'nope'"):
        registry.activate("nope")

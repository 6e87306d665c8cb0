"""The one adapter registry: versioned LoRA adapters on disk, and which one is current.

Training writes adapters here; the one loader (``engine.loader``) finds them here, so the rules
live in one place: an adapter version is a folder in a :class:`VersionStore` holding peft's
``adapter_config.json`` + ``adapter_model.safetensors`` and our ``metrics.json`` (which records the
base model it was trained for). An adapter that is incomplete or made for another base model is
refused with a :class:`UserError` (one whose weights do not fit, by the loader); the base model
never answers silently in its place.

A fresh home has no adapters yet, so the registry imports the adapter shipped with the repository
(``adapters/default``) as its first version: ``make run`` answers with the specialist without
training first.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from specialist.errors import BusyError, UserError
from specialist.settings import PROJECT_ROOT, Settings
from specialist.versions import VersionStore

SHIPPED_ADAPTER = PROJECT_ROOT / "adapters" / "default"
"""The trained default adapter that ships with the repository."""

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
METRICS = "metrics.json"
REQUIRED_FILES = (ADAPTER_CONFIG, ADAPTER_WEIGHTS, METRICS)
SHIPPED_EXTRA_FILES = (
    "train_log.jsonl",
    "loss_curve.png",
    "train.log",
    "eval_summarize.json",
    "eval_rag.json",
    "README.md",
)
"""Records that travel with the shipped adapter into the registry when present."""
IMPORT_WAIT_S = 60.0


def read_metrics(folder: Path) -> dict[str, Any]:
    """The ``metrics.json`` of an adapter folder; a clear error when it is missing or unreadable."""
    try:
        metrics = json.loads((folder / METRICS).read_text())
    except FileNotFoundError:
        raise UserError(f"adapter at {folder} has no {METRICS}") from None
    except ValueError as exc:
        raise UserError(f"adapter at {folder} has an unreadable {METRICS}: {exc}") from None
    if not isinstance(metrics, dict) or not isinstance(metrics.get("base_model"), str):
        raise UserError(f"adapter at {folder} does not record its base model in {METRICS}")
    return metrics


def adapter_problem(folder: Path) -> str | None:
    """Why the adapter in ``folder`` cannot be loaded, or None when all its files are there."""
    for name in REQUIRED_FILES:
        path = folder / name
        if not path.is_file() or path.stat().st_size == 0:
            return f"{name} is missing or empty"
    return None


@dataclass(frozen=True)
class AdapterInfo:
    """One row of ``specialist adapters list``."""

    version: str
    base_model: str
    created: str
    metrics: dict[str, float] = field(default_factory=dict)
    active: bool = False


def metrics_summary(metrics: dict[str, Any]) -> dict[str, float]:
    """The few numbers worth a column: final dev loss and the headline evaluation scores."""
    summary: dict[str, float] = {}
    train = metrics.get("train", {})
    if isinstance(train.get("best_dev_loss"), int | float):
        summary["dev_loss"] = round(float(train["best_dev_loss"]), 4)
    for kind, scores in metrics.get("eval", {}).items():
        adapter_scores = scores.get("adapter", scores) if isinstance(scores, dict) else {}
        for key in ("rougeL", "contains_gold", "citation_correct"):
            if isinstance(adapter_scores.get(key), int | float):
                summary[f"{kind}.{key}"] = round(float(adapter_scores[key]), 4)
    return summary


class AdapterRegistry:
    """Versioned LoRA adapters in ``settings.adapters_dir`` with an atomically switched ``current``."""

    def __init__(self, settings: Settings, shipped: Path = SHIPPED_ADAPTER) -> None:
        self.settings = settings
        self.store = VersionStore(settings.adapters_dir, "adapter")
        self.shipped = shipped

    def ensure_default(self) -> None:
        """Import the shipped adapter as the first version when the registry is still empty.

        Several processes may start at once on a fresh home (the service and a CLI command): the
        one holding the write lock imports, the others wait for its version to appear.
        """
        if self.store.list() or adapter_problem(self.shipped) is not None:
            return
        try:
            with self.store.write_lock():
                if self.store.list():
                    return
                self._import_shipped()
        except BusyError:
            deadline = time.monotonic() + IMPORT_WAIT_S
            while not self.store.list() and time.monotonic() < deadline:
                time.sleep(0.2)

    def _import_shipped(self) -> None:
        matches = read_metrics(self.shipped)["base_model"] == self.settings.base_model
        with self.store.new_version(activate=matches) as pending:
            for name in (*REQUIRED_FILES, *SHIPPED_EXTRA_FILES):
                if (self.shipped / name).is_file():
                    shutil.copy2(self.shipped / name, pending.path / name)

    def list(self) -> list[AdapterInfo]:
        """Every adapter version, oldest first, with the active one marked."""
        self.ensure_default()
        current = self.store.current()
        rows = []
        for version in self.store.list():
            folder = self.store.versions_dir / version
            try:
                metrics = read_metrics(folder)
            except UserError:
                metrics = {"base_model": "?"}
            rows.append(
                AdapterInfo(
                    version=version,
                    base_model=metrics["base_model"],
                    created=str(metrics.get("created", "?")),
                    metrics=metrics_summary(metrics),
                    active=version == current,
                )
            )
        return rows

    def current(self) -> str | None:
        """The version the specialist is served with, or None when there is no adapter."""
        self.ensure_default()
        return self.store.current()

    def path(self, version: str) -> Path:
        """Folder of ``version`` (a clear error when it does not exist)."""
        self.ensure_default()
        return self.store.path(version)

    def check_base_model(self, version: str) -> dict[str, Any]:
        """Metrics of ``version``; refuses an adapter trained for another base model."""
        metrics = read_metrics(self.path(version))
        if metrics["base_model"] != self.settings.base_model:
            raise UserError(
                f"adapter {version} was trained for base model {metrics['base_model']!r}, "
                f"but the configured base model is {self.settings.base_model!r} "
                "(SPECIALIST_BASE_MODEL)"
            )
        return metrics

    def activate(self, version: str) -> None:
        """Make ``version`` current after checking it fits the configured base model."""
        self.check_base_model(version)
        problem = adapter_problem(self.path(version))
        if problem:
            raise UserError(f"adapter {version} cannot be activated: {problem}")
        self.store.activate(version)

    def rollback(self) -> str:
        """Switch back to the previously current adapter; returns its version."""
        self.ensure_default()
        return self.store.rollback()

"""Finished parts of ``eval all`` runs, kept so ``--resume`` skips what need not run again.

A full run takes over an hour and a half on two cores. After each system (and each model's
summaries) the results are written atomically to ``checkpoint.json`` in the output folder, each
under a fingerprint of what shapes *that part's* numbers, and the file stays after the run. A
resumed run reuses every part whose fingerprint is unchanged: after a crash or a kill, all finished
parts; after a change that touches one row (a refitted reader changes the product row alone),
only that row runs again. Code is not in the fingerprint: after changing the code that
shapes a part (the sentence splitter, the prompt), run without ``--resume``, or drop the parts it
shapes from ``checkpoint.json`` first.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from evaluation.qa import Answer
from specialist.versions import atomic_write_text

NAME = "checkpoint.json"

Fingerprint = Callable[[str], dict[str, Any]]
"""What shapes the numbers of a part, by the part's key."""


class Checkpoint:
    """Per-system answers, withheld-answer abstention and per-model summary scores."""

    def __init__(self, out: Path, fingerprint: Fingerprint, resume: bool) -> None:
        self.path = out / NAME
        self.fingerprint = fingerprint
        self.parts: dict[str, Any] = {}
        if resume and self.path.is_file():
            try:
                saved = json.loads(self.path.read_text())
            except ValueError:
                saved = {}
            parts = saved.get("parts", {}) if isinstance(saved, dict) else {}
            self.parts = {
                key: part
                for key, part in parts.items()
                if isinstance(part, dict) and part.get("fingerprint") == fingerprint(key)
            }

    def has(self, key: str) -> bool:
        """Whether part ``key`` (a system key or ``<task>:<model>``) is finished."""
        return key in self.parts

    def answers(self, key: str) -> list[Answer]:
        """The saved answers of system ``key``."""
        return [Answer(**fields) for fields in self.parts[key]["answers"]]

    def value(self, key: str, field: str) -> Any:
        """A saved figure of part ``key``."""
        return self.parts[key][field]

    def save(self, key: str, answers: list[Answer] | None = None, **figures: Any) -> None:
        """Record part ``key`` as finished (atomically, so a kill never leaves half a file)."""
        part: dict[str, Any] = {"fingerprint": self.fingerprint(key), **figures}
        if answers is not None:
            part["answers"] = [asdict(answer) for answer in answers]
        self.parts[key] = part
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, json.dumps({"parts": self.parts}) + "\n")

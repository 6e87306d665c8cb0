"""Finished parts of an ``eval all`` run, kept so ``--resume`` skips them after a crash or a kill.

A full run takes most of an hour on two cores. After each system (and each model's summaries) the
results are written atomically to ``checkpoint.json`` in the output folder, under a fingerprint of
everything that shapes the numbers; a resumed run reuses only parts with the same fingerprint.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from evaluation.qa import Answer
from specialist.versions import atomic_write_text

NAME = "checkpoint.json"


class Checkpoint:
    """Per-system answers, withheld-answer abstention and per-model summary scores."""

    def __init__(self, out: Path, fingerprint: dict[str, Any], resume: bool) -> None:
        self.path = out / NAME
        self.fingerprint = fingerprint
        self.parts: dict[str, Any] = {}
        if resume and self.path.is_file():
            try:
                saved = json.loads(self.path.read_text())
            except ValueError:
                saved = {}
            if saved.get("fingerprint") == fingerprint:
                self.parts = saved.get("parts", {})

    def has(self, key: str) -> bool:
        """Whether part ``key`` (a system key or ``summaries:<model>``) is finished."""
        return key in self.parts

    def answers(self, key: str) -> list[Answer]:
        """The saved answers of system ``key``."""
        return [Answer(**fields) for fields in self.parts[key]["answers"]]

    def value(self, key: str, field: str) -> Any:
        """A saved figure of part ``key``."""
        return self.parts[key][field]

    def save(self, key: str, answers: list[Answer] | None = None, **figures: Any) -> None:
        """Record part ``key`` as finished (atomically, so a kill never leaves half a file)."""
        part: dict[str, Any] = dict(figures)
        if answers is not None:
            part["answers"] = [asdict(answer) for answer in answers]
        self.parts[key] = part
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(
            self.path, json.dumps({"fingerprint": self.fingerprint, "parts": self.parts}) + "\n"
        )

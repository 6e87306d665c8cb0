"""Which checkpoint a resumed run continues from, when a kill may have left one half-written.

The trainer writes ``checkpoint-<step>/`` in place and its ``trainer_state.json`` last, so a
folder whose state file is missing or unreadable was interrupted; the newest complete one is
where the run resumes. Interrupted folders are removed so they cannot be mistaken for progress.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

log = logging.getLogger(__name__)

STATE = "trainer_state.json"


def _step(folder: Path) -> int:
    return int(folder.name.removeprefix(f"{PREFIX_CHECKPOINT_DIR}-"))


def _complete(folder: Path) -> bool:
    try:
        json.loads((folder / STATE).read_text())
    except (OSError, ValueError):
        return False
    return True


def checkpoints(run_dir: Path) -> list[Path]:
    """Checkpoint folders of a run, oldest first."""
    found = [
        path
        for path in run_dir.glob(f"{PREFIX_CHECKPOINT_DIR}-*")
        if path.is_dir() and path.name.removeprefix(f"{PREFIX_CHECKPOINT_DIR}-").isdigit()
    ]
    return sorted(found, key=_step)


def resumable(run_dir: Path, tidy: bool) -> Path | None:
    """The newest complete checkpoint, or None; with ``tidy``, interrupted newer ones are removed.

    Only one process of a run may tidy; the others find the same checkpoint either way.
    """
    for folder in reversed(checkpoints(run_dir)):
        if _complete(folder):
            return folder
        if tidy:
            log.warning("removing %s: interrupted while it was written", folder)
            shutil.rmtree(folder, ignore_errors=True)
    return None

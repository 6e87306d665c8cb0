"""``eval all --resume``: finished parts come back only for the same fingerprint."""

from __future__ import annotations

from pathlib import Path

from evaluation.checkpoint import Checkpoint
from evaluation.qa import Answer

ANSWER = Answer("Paris [1]", 3, 0.5, 0.4, True, 1.0, False, True)


def test_saved_parts_come_back_on_resume(tmp_path: Path) -> None:
    first = Checkpoint(tmp_path, {"limit": 3}, resume=False)
    first.save("base+rag", [ANSWER], abstention_withheld=50.0)
    first.save("summaries:base", scores={"rougeL": 20.0})
    again = Checkpoint(tmp_path, {"limit": 3}, resume=True)
    assert again.has("base+rag") and again.answers("base+rag") == [ANSWER]
    assert again.value("base+rag", "abstention_withheld") == 50.0
    assert again.value("summaries:base", "scores") == {"rougeL": 20.0}
    assert not again.has("specialist")


def test_other_fingerprint_or_no_resume_starts_over(tmp_path: Path) -> None:
    Checkpoint(tmp_path, {"limit": 3}, resume=False).save("base", [ANSWER])
    assert not Checkpoint(tmp_path, {"limit": 4}, resume=True).has("base")
    assert not Checkpoint(tmp_path, {"limit": 3}, resume=False).has("base")
    (tmp_path / "checkpoint.json").write_text("{half a fi")
    assert not Checkpoint(tmp_path, {"limit": 3}, resume=True).has("base")

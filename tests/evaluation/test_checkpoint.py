"""``eval all --resume``: a finished part comes back only under its own unchanged fingerprint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evaluation.checkpoint import Checkpoint
from evaluation.qa import Answer
from evaluation.run import Options, part_fingerprints
from specialist.settings import load_settings

ANSWER = Answer("Paris [1]", 3, 0.5, 0.4, True, 1.0, False, True)


def shaped_by(limit: int, reader: str = "r1") -> Any:
    """Fingerprints where only the product row depends on the reader."""
    return lambda key: {"limit": limit, **({"reader": reader} if key == "product" else {})}


def test_saved_parts_come_back_on_resume(tmp_path: Path) -> None:
    first = Checkpoint(tmp_path, shaped_by(3), resume=False)
    first.save("base+rag", [ANSWER], abstention_withheld=50.0)
    first.save("summaries:base", scores={"rougeL": 20.0})
    again = Checkpoint(tmp_path, shaped_by(3), resume=True)
    assert again.has("base+rag") and again.answers("base+rag") == [ANSWER]
    assert again.value("base+rag", "abstention_withheld") == 50.0
    assert again.value("summaries:base", "scores") == {"rougeL": 20.0}
    assert not again.has("specialist")


def test_a_part_whose_inputs_changed_runs_again_and_the_others_are_kept(tmp_path: Path) -> None:
    first = Checkpoint(tmp_path, shaped_by(3, reader="r1"), resume=False)
    first.save("product", [ANSWER], abstention_withheld=70.0)
    first.save("extractive", [ANSWER], abstention_withheld=None)
    refitted = Checkpoint(tmp_path, shaped_by(3, reader="r2"), resume=True)
    assert not refitted.has("product") and refitted.has("extractive")
    refitted.save("product", [ANSWER], abstention_withheld=80.0)
    assert Checkpoint(tmp_path, shaped_by(3, reader="r2"), resume=True).has("extractive")


def test_other_fingerprint_or_no_resume_starts_over(tmp_path: Path) -> None:
    Checkpoint(tmp_path, shaped_by(3), resume=False).save("base", [ANSWER])
    assert not Checkpoint(tmp_path, shaped_by(4), resume=True).has("base")
    assert not Checkpoint(tmp_path, shaped_by(3), resume=False).has("base")
    (tmp_path / "checkpoint.json").write_text("{half a fi")
    assert not Checkpoint(tmp_path, shaped_by(3), resume=True).has("base")
    (tmp_path / "checkpoint.json").write_text('{"fingerprint": {"limit": 3}, "parts": {"base": 1}}')
    assert not Checkpoint(tmp_path, shaped_by(3), resume=True).has("base")


def test_withheld_and_top_k_shape_only_the_rows_that_retrieve(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path)
    hashes = {"squad": {"sha256": "s"}}
    before = part_fingerprints(settings, Options(withheld=100), hashes, "v1")
    after = part_fingerprints(settings, Options(withheld=None, top_k=8), hashes, "v1")
    for part in ("extractive", "base+rag", "specialist+rag", "product"):
        assert before(part) != after(part), part
    for part in ("base", "specialist", "summaries:base", "news:specialist"):
        assert before(part) == after(part), part

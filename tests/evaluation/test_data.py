"""Input checks of ``eval all``: paths, SHA256SUMS, held-out selection, the quick-run BEIR cut."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from evaluation.data import beir_subset, data_hashes, heldout_questions, resolve_data
from specialist.errors import UserError


def squad_file(path: Path, titles: list[str]) -> Path:
    data = [
        {
            "title": title,
            "paragraphs": [
                {
                    "context": f"{title} was founded in 1900.",
                    "qas": [
                        {
                            "id": f"{title}-{n}",
                            "question": f"When was {title} founded ({n})?",
                            "answers": [{"text": "1900", "answer_start": len(title) + 16}],
                        }
                        for n in range(3)
                    ],
                }
            ],
        }
        for title in titles
    ]
    path.write_text(json.dumps({"data": data}))
    return path


def beir_folder(path: Path, queries: int) -> Path:
    (path / "qrels").mkdir(parents=True)
    docs = [{"_id": f"d{i}", "title": "", "text": f"document {i}"} for i in range(200)]
    (path / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    (path / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": f"q{i}", "text": f"query {i}"}) + "\n" for i in range(queries))
    )
    rows = ["query-id\tcorpus-id\tscore"] + [f"q{i}\td{150 + i}\t1" for i in range(queries)]
    (path / "qrels" / "test.tsv").write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    (tmp_path / "xquad").mkdir()
    squad_file(tmp_path / "xquad" / "xquad.en.json", ["Alpha", "Beta"])
    (tmp_path / "dialogsum").mkdir()
    (tmp_path / "dialogsum" / "test.jsonl").write_text(
        json.dumps({"dialogue": "A: hi. B: hello.", "summary1": "They greet."}) + "\n"
    )
    beir_folder(tmp_path / "scifact", 5)
    sums = [
        f"{hashlib.sha256(path.read_bytes()).hexdigest()}  ./{path.relative_to(tmp_path)}"
        for path in sorted(tmp_path.rglob("*"))
        if path.is_file()
    ]
    (tmp_path / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    return tmp_path


def test_hashes_are_checked_against_sha256sums(data_dir: Path) -> None:
    data = resolve_data(data_dir, None, None, None)
    hashes = data_hashes(data)
    listed = {name: entry["check"] for name, entry in hashes.items() if name != "news"}
    assert set(listed.values()) == {"matches SHA256SUMS"}
    assert hashes["news"]["check"] == "not listed in a SHA256SUMS"
    (data_dir / "dialogsum" / "test.jsonl").write_text('{"dialogue": "x", "summary1": "y"}\n')
    with pytest.raises(UserError, match="does not match its SHA256SUMS"):
        data_hashes(data)


def test_explicit_paths_and_missing_files(data_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        resolve_data(None, tmp_path / "none.json", data_dir / "dialogsum" / "test.jsonl", data_dir)
    data = resolve_data(
        None,
        data_dir / "xquad" / "xquad.en.json",
        data_dir / "dialogsum" / "test.jsonl",
        data_dir / "scifact",
    )
    assert data.data_dir is None
    assert {e["check"] for e in data_hashes(data).values()} == {"not listed in a SHA256SUMS"}


def test_training_articles_are_never_asked(tmp_path: Path) -> None:
    squad = squad_file(tmp_path / "squad.json", ["Alpha", "Beta", "Gamma"])
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train_articles": ["Beta"]}))
    heldout = heldout_questions(squad, split, None, seed=0)
    assert heldout.articles == ["Alpha", "Gamma"] and heldout.excluded_articles == ["Beta"]
    assert {q.paragraph.article for q in heldout.questions} == {"Alpha", "Gamma"}
    assert len(heldout_questions(squad, split, 4, seed=0).questions) == 4
    assert heldout_questions(squad, split, None, 1).questions != heldout.questions
    split.write_text(json.dumps({"train_articles": ["Alpha", "Beta", "Gamma"]}))
    with pytest.raises(UserError, match="nothing is held out"):
        heldout_questions(squad, split, None, seed=0)


def test_quick_run_cuts_beir_to_judged_documents_and_distractors(tmp_path: Path) -> None:
    subset = beir_subset(beir_folder(tmp_path / "beir", 10), 2, tmp_path / "out")
    ids = [json.loads(line)["_id"] for line in (subset / "corpus.jsonl").read_text().splitlines()]
    assert {"d150", "d151"} <= set(ids) and len(ids) == 2 + 2 * 20
    assert len((subset / "queries.jsonl").read_text().splitlines()) == 2

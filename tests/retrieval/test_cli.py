"""The ``index``, ``search`` and ``eval retrieval`` commands: results, exit codes, one-line errors."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from retrieval.watch import watch_folder
from specialist.cli import main
from specialist.settings import load_settings
from specialist.versions import VersionStore


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home of its own, so the session's home never gets an index."""
    home = tmp_path / "home"
    monkeypatch.setenv("SPECIALIST_HOME", str(home))
    return home


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.mark.parametrize("kind", ["missing", "empty", "file"])
def test_bad_folders_exit_2_with_one_sentence(kind, home, tmp_path, capsys) -> None:
    target = tmp_path / kind
    if kind == "empty":
        target.mkdir()
    elif kind == "file":
        target.write_text("x")
    assert main(["index", str(target), "--quiet"]) == 2
    message = one_line_error(capsys)
    assert message.startswith("specialist index: ") and str(target) in message


def test_search_before_any_index_exits_2(home, capsys) -> None:
    assert main(["search", "anything"]) == 2
    assert "nothing is indexed yet" in one_line_error(capsys)


def test_busy_lock_message(home, corpus, capsys) -> None:
    store = VersionStore(load_settings().indexes_dir, "index")
    with store.write_lock():
        assert main(["index", str(corpus), "--quiet"]) == 2
    assert "another process is already writing a index" in one_line_error(capsys)


def test_index_then_search(home, corpus, capsys) -> None:
    assert main(["index", str(corpus), "--quiet"]) == 0
    assert "3 files indexed" in capsys.readouterr().err.replace("\n", " ")
    assert main(["search", "Apollo astronauts on the Moon", "-k", "2"]) == 0
    out = capsys.readouterr().out
    assert "space.md" in out and "twelve" in out


def test_eval_retrieval_on_a_tiny_beir_set(home, tmp_path, write, capsys) -> None:
    docs = {
        "d1": "Aspirin lowers the risk of heart attacks in adults.",
        "d2": "Vitamin D deficiency is common in northern winters.",
        "d3": "Regular exercise improves sleep quality.",
        "d4": "Caffeine increases alertness for a few hours.",
    }
    queries = {"q1": "aspirin heart attack risk", "q2": "vitamin D in winter"}
    beir = write(
        tmp_path / "beir",
        {
            "corpus.jsonl": "\n".join(
                json.dumps({"_id": i, "title": "", "text": t}) for i, t in docs.items()
            ),
            "queries.jsonl": "\n".join(
                json.dumps({"_id": i, "text": t}) for i, t in queries.items()
            ),
            "qrels/test.tsv": "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n",
        },
    )
    out = tmp_path / "eval.json"
    assert main(["eval", "retrieval", "--beir", str(beir), "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert set(result["rows"]) == {"dense", "bm25", "hybrid"}
    assert result["rows"]["hybrid"]["ndcg@10"] == pytest.approx(1.0)
    assert "hybrid" in capsys.readouterr().out
    assert main(["eval", "retrieval", "--beir", str(tmp_path / "nope")]) == 2


def test_watch_calls_back_after_a_change(tmp_path: Path) -> None:
    folder = tmp_path / "watched"
    folder.mkdir()
    changed, stop = threading.Event(), threading.Event()
    thread = threading.Thread(
        target=watch_folder,
        args=(folder, changed.set),
        kwargs={"settle": 0.2, "stop": stop},
        daemon=True,
    )
    thread.start()
    try:
        time.sleep(0.5)  # let the observer start
        (folder / "note.md").write_text("# Note\n\nhello\n")
        assert changed.wait(timeout=10)
        changed.clear()
        (folder / ".hidden.md").write_text("ignored")
        assert not changed.wait(timeout=1)
    finally:
        stop.set()
        thread.join(timeout=5)


def test_index_prints_why_a_link_outside_is_skipped(home, corpus, tmp_path, capsys, monkeypatch):
    secret = tmp_path / "elsewhere" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("The launch code is ZEBRA-4471.\n")
    (corpus / "notes.txt").symlink_to(secret)
    monkeypatch.setenv("COLUMNS", "200")  # one table row per skipped file
    assert main(["index", str(corpus), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "3 files indexed" in err and "1 skipped" in err
    row = next(line for line in err.splitlines() if "notes.txt" in line)
    assert "symbolic link to a path outside the document root, not followed" in row
    assert main(["search", "launch code ZEBRA-4471", "-k", "5"]) == 0
    assert "ZEBRA" not in capsys.readouterr().out

"""The committed follow-up set: dev articles only, every gold answer in its article; the loader
refuses what is not a conversation; a chunk of another article never counts as retrieving gold."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.data import SPLIT_FILE
from evaluation.followups import CORPUS, FOLLOWUPS, gold_rank, load_conversations
from retrieval.corpus_xquad import xquad_filename
from retrieval.search import Hit
from specialist.errors import UserError
from specialist.text import holds_answer


def test_the_set_holds_forty_follow_ups_on_dev_articles_with_gold_in_the_corpus() -> None:
    conversations = load_conversations(FOLLOWUPS)
    dev = set(json.loads(SPLIT_FILE.read_text())["dev_articles"])
    assert sum(len(c.turns) - 1 for c in conversations) == 40
    assert {c.article for c in conversations} == dev
    assert len({c.id for c in conversations}) == len(conversations)
    for conversation in conversations:
        text = (CORPUS / xquad_filename(conversation.article)).read_text()
        for turn in conversation.turns:
            assert holds_answer(text, turn.answers), (conversation.id, turn.question)


@pytest.mark.parametrize(
    "line",
    [
        "not json",
        '{"id": "a", "article": "Force"}',
        '{"id": "a", "article": "Force", "turns": [{"question": "Who?", "answers": ["x"]}]}',
        '{"id": "a", "article": "Force", "turns": [{"question": "Q", "answers": ["x"]}, '
        '{"question": "Q2", "answers": []}]}',
    ],
)
def test_what_is_not_a_conversation_is_refused_with_its_line(tmp_path: Path, line: str) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text(line + "\n")
    with pytest.raises(UserError, match=r"bad\.jsonl:1"):
        load_conversations(data)


def hit(title: str, text: str) -> Hit:
    """A retrieved chunk of ``title``."""
    return Hit("c", f"{title}.md", title, "", text, 1.0, None, None, 0, len(text))


def test_gold_counts_only_in_the_conversations_own_article() -> None:
    hits = [hit("Other", "It has four legs."), hit("Force", "made of four elements")]
    assert gold_rank(hits, "Force", ("four",)) == 2
    assert gold_rank(hits[:1], "Force", ("four",)) is None


RHINE = """# Rhine

The Rhine rises in the Swiss Alps and flows about 1,230 kilometres to the North Sea.

Barges carry coal, grain and containers between the port of Rotterdam and the cities of the Ruhr.
"""
PHOTOSYNTHESIS = """# Photosynthesis

Photosynthesis takes place mainly in the chloroplasts of leaf cells, where chlorophyll absorbs light.
"""


@pytest.mark.slow
def test_eval_followups_plays_each_method_and_writes_the_report(tmp_path: Path, capsys) -> None:
    from specialist.cli import main

    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "Rhine.md").write_text(RHINE)
    (corpus / "Photosynthesis.md").write_text(PHOTOSYNTHESIS)
    data = tmp_path / "followups.jsonl"
    turns = [
        {"question": "Where does the Rhine rise?", "answers": ["Swiss Alps"]},
        {"question": "Which port do its barges serve?", "answers": ["Rotterdam"]},
    ]
    data.write_text(json.dumps({"id": "rhine", "article": "Rhine", "turns": turns}) + "\n")
    out = tmp_path / "report"
    args = ["eval", "followups", "--data", str(data), "--corpus", str(corpus), "--out", str(out)]
    assert main(args) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["followups"] == 1 and report["served_method"] == "carry-topic"
    assert set(report["rows"]) == {"carry-topic", "last-message", "whole-history"}
    carried = report["rows"]["carry-topic"]
    assert (carried["recall@1"], carried["recall@4"]) == (100.0, 100.0)
    assert carried["contains_gold"] in (0.0, 100.0)
    rows = [json.loads(line) for line in (out / "answers.jsonl").read_text().splitlines()]
    assert [row["method"] for row in rows] == ["carry-topic", "last-message", "whole-history"]
    assert rows[0]["searched"].startswith("Which port do its barges serve? ")
    assert "Rhine" in rows[0]["searched"]
    assert "carry-topic (served)" in capsys.readouterr().out

"""RAFT building blocks and evaluation metrics (pure functions, no model)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from specialist.errors import UserError
from specialist.prompt import NO_ANSWER
from training.evaluate import RagItem, load_summary_items, rag_scores, rouge_scores, token_f1
from training.raft import Paragraph, Question, answer_sentence, split_articles, window

TEXT = (
    "The river rises in the hills. It flows east for 300 km. Its delta was settled in 1204 by "
    "fishermen from the coast. Today the delta is a nature reserve. Tourists visit it in spring."
)


def test_article_split_is_seeded_and_disjoint() -> None:
    titles = [f"article {i}" for i in range(10)]
    train, heldout = split_articles(titles, 3, seed=7)
    assert (train, heldout) == split_articles(list(reversed(titles)), 3, seed=7)
    assert len(heldout) == 3 and not set(train) & set(heldout)
    with pytest.raises(UserError):
        split_articles(titles, 10, seed=7)


def test_gold_window_always_holds_the_answer() -> None:
    start = TEXT.index("1204")
    for seed in range(20):
        passage = window(TEXT, 8, random.Random(seed), must_hold=start)
        assert "1204" in passage
        assert passage.endswith(".")


def test_answer_sentence_is_the_sentence_with_the_span() -> None:
    paragraph = Paragraph("000/000", "River", TEXT)
    question = Question("When was the delta settled?", paragraph, ("1204",), TEXT.index("1204"))
    assert answer_sentence(question, 40) == (
        "Its delta was settled in 1204 by fishermen from the coast."
    )
    clipped = answer_sentence(question, 5)
    assert "1204" in clipped and len(clipped.split()) == 5


def test_rag_scores() -> None:
    passages = ["The sky is blue.", "Grass is green in 1999."]
    items = [
        RagItem("p", ["1999"], 2, passages),
        RagItem("p", ["blue"], 1, passages),
        RagItem("p", ["x"], None, passages),
    ]
    predictions = ["Grass is green in 1999 [2].", "It is blue [2].", NO_ANSWER]
    scores = rag_scores(predictions, items)
    assert scores["contains_gold"] == 100.0
    assert scores["citation_correct"] == 50.0
    assert scores["abstention_correct"] == 100.0
    assert scores["false_abstention"] == 0.0
    assert token_f1("the year 1999", "1999") == pytest.approx(2 / 3)


def test_rouge_takes_the_best_reference_and_duplicates_are_dropped(tmp_path: Path) -> None:
    scores = rouge_scores(["a cat sat"], [["a dog ran", "a cat sat"]])
    assert scores["rougeL"] == 100.0
    test = tmp_path / "test.jsonl"
    test.write_text(
        json.dumps({"dialogue": "Hi THERE ", "summary1": "s1", "summary2": "s2"})
        + "\n"
        + json.dumps({"dialogue": "Bye", "summary1": "s3"})
        + "\n"
    )
    train = tmp_path / "train.jsonl"
    train.write_text(json.dumps({"dialogue": "hi there", "summary": "x"}) + "\n")
    items, dropped = load_summary_items(test, [train])
    assert dropped == 1
    assert [item.references for item in items] == [["s3"]]

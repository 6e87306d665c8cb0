"""The extractive reader on real hits, the real embedder and the shipped weights."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest

from engine.extract import (
    FEATURES,
    SHIPPED_WEIGHTS,
    Judge,
    ReaderWeights,
    SentenceVectors,
    asked_for,
    candidates,
    extract,
)
from engine.judge import question_log_probability
from engine.loader import load_specialist
from retrieval.search import Hit
from specialist.errors import UserError

TREATY = (
    "The treaty was drafted by a committee of jurists over three years. "
    "It was signed in Lisbon on 13 December 2007 by the heads of government. "
    "It entered into force two years later."
)
RIVER = (
    "The Rhine rises in the Swiss Alps and flows to the North Sea. "
    "Barges carry coal, grain and containers between Rotterdam and the Ruhr."
)


def hit(text: str, dense: float = 0.5, chunk: str = "c") -> Hit:
    return Hit(chunk, f"{chunk}.md", "Title", "", text, 0.03, dense, 1.0, 0, len(text))


def flat_idf(terms: list[str]) -> list[float]:
    return [1.0] * len(terms)


@pytest.fixture(scope="module")
def judge(settings) -> Judge:
    """The shipped specialist's question likelihood, which the shipped weights' decline rests on."""
    return partial(question_log_probability, load_specialist(settings))


@pytest.fixture(scope="module")
def embed(embedder):
    """The reader's vectors of a question and its hits' sentences, all embedded on the fly."""

    def vectors(texts: list[str]) -> np.ndarray:
        return np.asarray(embedder.encode(texts, normalize_embeddings=True), dtype=np.float32)

    return SentenceVectors(vectors, capacity=100).of


def test_candidates_are_every_sentence_in_hit_order() -> None:
    found = candidates([hit(TREATY, chunk="a"), hit(RIVER, chunk="b")])
    assert [(c.rank, c.index) for c in found] == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]
    assert (
        found[1].text == "It was signed in Lisbon on 13 December 2007 by the heads of government."
    )
    assert TREATY[found[1].start : found[1].end] == found[1].text


def test_the_wording_of_a_question_tells_what_it_asks_for() -> None:
    assert asked_for("When was the treaty signed?") == "time"
    assert asked_for("In what year did it open?") == "time"
    assert asked_for("How many barges pass Basel?") == "number"
    assert asked_for("Who drafted the treaty?") == "person"
    assert asked_for("Where does the Rhine rise?") is None


def test_shipped_weights_load_and_name_every_feature() -> None:
    weights = ReaderWeights.load(SHIPPED_WEIGHTS)
    assert weights.features == FEATURES
    assert 0 < weights.threshold < 1
    assert weights.record["held_out"]["questions"] > 800, "chosen on every training article"


def test_weights_for_other_features_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "reader.json"
    stale = ReaderWeights((1.0,), 0.0, 0.5, ("overlap",))
    path.write_text(stale.to_json())
    with pytest.raises(UserError, match="other features"):
        ReaderWeights.load(path)
    path.write_text("{not json")
    with pytest.raises(UserError, match="cannot be read"):
        ReaderWeights.load(path)


def test_the_reader_answers_with_the_sentence_that_holds_the_answer(embed, judge) -> None:
    weights = ReaderWeights.load(SHIPPED_WEIGHTS)
    hits = [hit(RIVER, 0.3, "b"), hit(TREATY, 0.6, "a")]
    chosen = extract("When was the treaty signed in Lisbon?", hits, weights, embed, flat_idf, judge)
    assert chosen.answered
    assert chosen.candidate is not None
    assert "13 December 2007" in chosen.candidate.text
    assert chosen.candidate.rank == 1


def test_the_reader_declines_when_no_sentence_can_answer(embed, judge) -> None:
    weights = ReaderWeights.load(SHIPPED_WEIGHTS)
    hits = [hit(RIVER, 0.05, "b"), hit(TREATY, 0.04, "a")]
    chosen = extract(
        "What is the boiling point of tungsten?", hits, weights, embed, flat_idf, judge
    )
    assert not chosen.answered
    assert chosen.probability < weights.threshold


def test_no_hits_no_answer(embed) -> None:
    weights = ReaderWeights.load(SHIPPED_WEIGHTS)
    chosen = extract("Anything?", [], weights, embed, flat_idf)
    assert (chosen.candidate, chosen.answered) == (None, False)


def test_sentence_vectors_embed_each_text_once_and_forget_the_oldest() -> None:
    calls: list[list[str]] = []

    def fake_embed(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        return np.array([[float(len(t))] for t in texts])

    vectors = SentenceVectors(fake_embed, capacity=2)
    assert vectors(["a", "bb", "a"]).ravel().tolist() == [1.0, 2.0, 1.0]
    assert vectors(["bb"]).ravel().tolist() == [2.0]
    assert calls == [["a", "bb"]]
    vectors(["ccc"])
    vectors(["a"])
    assert calls[-1] == ["a"]


def test_sentence_vectors_take_stored_ones_and_embed_only_the_rest() -> None:
    calls: list[list[str]] = []

    def fake_embed(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        return np.array([[float(len(t)), 0.0] for t in texts])

    def stored(found: Hit) -> np.ndarray | None:
        return np.array([[-1.0, 1.0]] * 3) if found.chunk_id == "a" else None

    vectors = SentenceVectors(fake_embed, capacity=10, stored=stored)
    rows = vectors.of("Q?", [hit(RIVER, chunk="b"), hit(TREATY, chunk="a")])
    river = [c.text for c in candidates([hit(RIVER)])]
    assert calls == [["Q?", *river]], "the stored chunk's sentences are not embedded"
    assert rows.tolist() == [
        [2.0, 0.0],
        *([float(len(t)), 0.0] for t in river),
        *([[-1.0, 1.0]] * 3),
    ]

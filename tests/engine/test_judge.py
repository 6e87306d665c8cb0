"""The specialist's vote on the reader's shortlist: real model, real sentences."""

from __future__ import annotations

import numpy as np
import pytest

from engine.extract import ReaderWeights, choose, shortlist
from engine.judge import question_log_likelihood
from engine.loader import Specialist

SIGNED = "The treaty was signed in Lisbon on 13 December 2007 by the heads of government."
BARGES = "Barges carry coal, grain and containers between Rotterdam and the Ruhr."


@pytest.fixture(scope="module")
def specialist(base_model) -> Specialist:
    model, tokenizer = base_model
    return Specialist(model, tokenizer, "smollm2-135m", None)


def test_the_sentence_a_question_was_asked_about_makes_it_likelier(specialist) -> None:
    scores = question_log_likelihood(specialist, "Where was the treaty signed?", [BARGES, SIGNED])
    assert scores.shape == (2,)
    assert np.all(np.isfinite(scores)) and np.all(scores < 0)
    assert scores[1] > scores[0]


def test_a_batch_scores_each_sentence_as_it_would_alone(specialist) -> None:
    question = "What do barges carry?"
    batch = question_log_likelihood(specialist, question, [SIGNED, BARGES])
    alone = [question_log_likelihood(specialist, question, [s])[0] for s in (SIGNED, BARGES)]
    assert batch == pytest.approx(alone, abs=1e-3)
    assert question_log_likelihood(specialist, question, []).shape == (0,)


def test_the_judge_only_reorders_the_scorers_shortlist() -> None:
    logits = np.array([2.0, 0.5, 1.9, -3.0])
    votes = {(0, 2): np.array([-30.0, -10.0])}
    weights = ReaderWeights((0.0,), 0.0, 0.5, judge_shortlist=2)
    assert shortlist(logits, 2).tolist() == [0, 2]
    assert choose(logits, weights, lambda short: votes[tuple(short)]) == 0
    judged = ReaderWeights((0.0,), 0.0, 0.5, judge_weight=0.2, judge_shortlist=2)
    assert choose(logits, judged, lambda short: votes[tuple(short)]) == 2
    assert choose(logits, judged, None) == 0

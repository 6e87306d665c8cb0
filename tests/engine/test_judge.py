"""The specialist's vote on the reader's shortlist and its lift: real model, real sentences."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from engine.extract import ReaderWeights, Verdict, choose, confidence, shortlist
from engine.judge import question_log_probability
from engine.loader import Specialist

SIGNED = "The treaty was signed in Lisbon on 13 December 2007 by the heads of government."
BARGES = "Barges carry coal, grain and containers between Rotterdam and the Ruhr."


@pytest.fixture(scope="module")
def specialist(base_model) -> Specialist:
    model, tokenizer = base_model
    return Specialist(model, tokenizer, "smollm2-135m", None)


def test_the_sentence_a_question_was_asked_about_makes_it_likelier(specialist) -> None:
    scores = question_log_probability(
        specialist, "Where was the treaty signed?", [BARGES, SIGNED, ""]
    )
    assert scores.shape == (3,)
    assert np.all(np.isfinite(scores)) and np.all(scores < 0)
    assert scores[1] > scores[0]
    verdict = Verdict(np.array([0, 1]), scores[:2], float(scores[2]))
    assert verdict.lift(1) > 0, "the answering sentence makes the question likelier than nothing"
    assert verdict.lift(1) > verdict.lift(0)


def test_a_batch_scores_each_sentence_as_it_would_alone(specialist) -> None:
    question = "What do barges carry?"
    batch = question_log_probability(specialist, question, [SIGNED, BARGES])
    alone = [question_log_probability(specialist, question, [s])[0] for s in (SIGNED, BARGES)]
    assert batch == pytest.approx(alone, abs=1e-4)
    assert question_log_probability(specialist, question, []).shape == (0,)


def test_the_judge_only_reorders_the_scorers_shortlist() -> None:
    logits = np.array([2.0, 0.5, 1.9, -3.0])
    weights = ReaderWeights((0.0,), 0.0, 0.5, judge_shortlist=2)
    assert shortlist(logits, 2).tolist() == [0, 2]
    verdict = Verdict(np.array([0, 2]), np.array([-3.0, -1.0]), -2.5)
    assert choose(logits, weights, verdict) == 0
    judged = ReaderWeights((0.0,), 0.0, 0.5, judge_weight=2.0, judge_shortlist=2)
    assert choose(logits, judged, verdict) == 2
    assert choose(logits, judged, None) == 0


def test_the_lift_moves_the_confidence_only_when_weighted() -> None:
    logits = np.array([0.0, -1.0])
    verdict = Verdict(np.array([0, 1]), np.array([-1.0, -4.0]), -3.0)
    plain = ReaderWeights((0.0,), 0.0, 0.5)
    assert confidence(logits, 0, plain, verdict) == pytest.approx(0.5)
    lifted = replace(plain, lift_weight=1.0)
    assert confidence(logits, 0, lifted, verdict) == pytest.approx(1 / (1 + np.exp(-2.0)))
    assert confidence(logits, 1, lifted, verdict) == pytest.approx(1 / (1 + np.exp(2.0)))
    assert confidence(logits, 0, lifted, None) == pytest.approx(0.5)
    assert lifted.uses_judge and not plain.uses_judge

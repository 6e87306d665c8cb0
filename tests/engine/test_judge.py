"""The specialist's vote on the reader's shortlist, and the answerability model its verdict feeds."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from engine.extract import (
    ANSWERABILITY,
    FEATURES,
    JUDGED_SIGNALS,
    Answerability,
    ReaderWeights,
    Verdict,
    answerability_signals,
    choose,
    confidence,
    shortlist,
)
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


def test_the_answerability_model_decides_when_weights_carry_one() -> None:
    texts = ["The treaty was signed in Lisbon.", "Barges carry coal."]
    rows = np.zeros((2, len(FEATURES)))
    rows[1, FEATURES.index("rank")] = 1
    logits = np.array([0.0, -1.0])
    verdict = Verdict(np.array([0, 1]), np.array([-1.0, -4.0]), -3.0)
    plain = ReaderWeights((0.0,), 0.0, 0.5)
    question = "Where was the treaty signed?"
    sure = confidence(question, texts, rows, logits, 0, plain, verdict, flat_idf)
    assert sure == pytest.approx(0.5), "without a model: the chosen sentence's probability"
    lift_only = Answerability((1.0,), 0.0, (0.0,), (2.0,), ("lift",))
    modelled = replace(plain, answerability=lift_only)
    assert modelled.uses_judge and not plain.uses_judge
    lifted = confidence(question, texts, rows, logits, 0, modelled, verdict, flat_idf)
    assert lifted == pytest.approx(1 / (1 + np.exp(-1.0))), "lift 2, standardized by 2"
    with pytest.raises(ValueError, match="judge"):
        confidence(question, texts, rows, logits, 0, modelled, None, flat_idf)


def flat_idf(terms: list[str]) -> list[float]:
    return [1.0] * len(terms)


def test_answerability_signals_see_what_the_passages_cover() -> None:
    texts = [
        "The treaty was signed in Lisbon.",
        "It entered into force later.",
        "Barges carry coal.",
    ]
    rows = np.zeros((3, len(FEATURES)))
    rows[2, FEATURES.index("rank")] = 1
    rows[:, FEATURES.index("dense")] = [0.6, 0.6, 0.2]
    logits = np.array([2.0, -1.0, 0.5])
    verdict = Verdict(np.array([0, 2]), np.array([-1.0, -2.5]), -3.0)
    signals = answerability_signals(
        "Where was the treaty signed by Portugal?", texts, rows, logits, 0, verdict, flat_idf
    )
    assert signals["best_logit"] == 2.0 and signals["logit_gap"] == 1.5
    # "where" is a question word, no term to cover: treaty and signed are covered, Portugal is not
    assert signals["coverage"] == pytest.approx(2 / 3)
    assert signals["rarest_missing"] == 1.0 and signals["chunk_coverage"] == pytest.approx(2 / 3)
    assert signals["top_dense"] == 0.6 and signals["lift"] == 2.0
    assert signals["best_given_vs_none"] == 2.0 and signals["unconditional"] == -3.0
    assert set(signals) == set(ANSWERABILITY)
    unjudged = answerability_signals("Where?", texts, rows, logits, 2, None, flat_idf)
    assert not JUDGED_SIGNALS & set(unjudged) and unjudged["chunk_coverage"] == 0.0

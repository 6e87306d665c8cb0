"""Fit the extractive reader's scorer; choose its judge weights and decline threshold by cross-fitting.

Honest method: every choice rests on questions the scorer that answers them was not fitted on.
The 36 training articles (the split file's train and dev articles) are held out in turn, in folds
(the dev articles are the first fold); the scorer fitted on the other articles scores the held-out
fold. The judge's weights and the threshold under which the reader declines (the one that declines
``target_decline`` of answerable questions) are chosen on these pooled held-out questions, so they
rest on every training article rather than on one sample of eight, whose figures swung by ten
points between dev and test. The shipped scorer is then fitted on all 36 articles; every figure
recorded with the weights is a held-out (cross-fitted) figure. The test articles are never read
here.

Each question is seen twice, as in evaluation: with the passages retrieval returns, and with every
passage holding the answer withheld (all its sentences are then negatives), so the scorer learns
what a near miss looks like as well as a hit. SQuAD 2.0's unanswerable questions add near misses
nobody made by filtering.

The specialist's vote on the scorer's shortlist (:mod:`engine.judge`) is weighted by the value
that makes held-out answers hold the gold most often, each candidate weight with its own threshold;
then the weight of its lift in the confidence is the one that declines most withheld-answer held-out
questions at the same share of answerable ones declined.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from engine.extract import (
    FEATURES,
    Judge,
    ReaderWeights,
    Verdict,
    candidates,
    choose,
    confidence,
    features,
    judged,
    sentence_vectors,
)
from retrieval.search import Hit, HybridIndex
from specialist.errors import UserError
from specialist.text import holds_answer
from training.raft import Question

WITHHELD_DEPTH = 16
"""Extra hits fetched for a withheld question, so ``top_k`` passages remain after removal."""
JUDGE_WEIGHTS = (0.0, 1.0, 2.0, 3.0, 5.0, 8.0)
"""The judge weights tried (0: the scorer alone), per question token of log-probability."""
LIFT_WEIGHTS = (0.0, 0.5, 1.0, 2.0, 3.0)
"""The weights of the judge's lift in the reader's confidence tried (0: the scorer alone)."""


@dataclass(frozen=True)
class Split:
    """Article titles of a QA split file (``corpora/training/qa_split.json``)."""

    train: list[str]
    dev: list[str]
    test: list[str]

    @classmethod
    def load(cls, path: Path) -> Split:
        """Read a split file; a clear error when it is not one."""
        try:
            data = json.loads(path.read_text())
            return cls(data["train_articles"], data["dev_articles"], data["test_articles"])
        except (OSError, ValueError, KeyError) as exc:
            raise UserError(f"{path}: not a QA split file ({exc})") from None


def withheld_hits(index: HybridIndex, question: Question, top_k: int) -> list[Hit]:
    """The best ``top_k`` hits once every chunk holding a gold answer is removed."""
    deep = index.search(question.question, k=top_k + WITHHELD_DEPTH)
    return [hit for hit in deep if not holds_answer(hit.text, question.answers)][:top_k]


@dataclass(frozen=True)
class Seen:
    """One question's candidate sentences as the reader sees them, labelled.

    ``logits`` are filled in by the scorer of the fold that held the question out, and ``verdict``
    (the judge's view of that scorer's shortlist) after it, where the judge's weights are chosen.
    """

    article: str
    question: str
    sentences: tuple[str, ...]
    rows: np.ndarray
    labels: np.ndarray
    withheld: bool
    logits: np.ndarray | None = None
    verdict: Verdict | None = None

    def scored(self) -> np.ndarray:
        """The log-odds of a scorer that was not fitted on this question (:func:`scored_by`)."""
        if self.logits is None:
            raise ValueError(f"{self.question!r} was not scored by a held-out scorer")
        return self.logits


def scored_by(seen: Sequence[Seen], weights: ReaderWeights) -> list[Seen]:
    """``seen`` with the log-odds of ``weights``' scorer (one that was not fitted on them)."""
    return [replace(item, logits=weights.logits(item.rows)) for item in seen]


def observe(index: HybridIndex, question: Question, hits: Sequence[Hit], withheld: bool) -> Seen:
    """Features and labels (sentence holds a gold answer) of every candidate sentence."""
    found = candidates(hits)
    article = question.paragraph.article
    if not found:
        empty = np.zeros((0, len(FEATURES)))
        return Seen(article, question.question, (), empty, np.zeros(0, dtype=bool), withheld)
    vectors = sentence_vectors(index)([question.question, *(c.text for c in found)])
    rows = features(question.question, found, hits, vectors[1:] @ vectors[0], index.idf)
    labels = np.array([holds_answer(c.text, question.answers) for c in found])
    return Seen(article, question.question, tuple(c.text for c in found), rows, labels, withheld)


def observe_all(
    index: HybridIndex, questions: Sequence[Question], top_k: int, desc: str
) -> list[Seen]:
    """Each question with its retrieved passages and again with the answer withheld.

    A question with no answer (SQuAD 2.0's unanswerable ones, written to look answerable) is seen
    once, with its real passages: none holds an answer, so it teaches declining as a withheld one
    does, on a near miss no filter made.
    """
    seen = []
    for question in tqdm(questions, desc=desc, unit="question"):
        hits = index.search(question.question, k=top_k)
        seen.append(observe(index, question, hits, withheld=not question.answers))
        if question.answers:
            seen.append(observe(index, question, withheld_hits(index, question, top_k), True))
    return seen


def decline_threshold(best: np.ndarray, target_decline: float) -> float:
    """The probability under which ``target_decline`` of answerable questions are declined."""
    return float(np.quantile(best, target_decline)) if len(best) else 0.5


def chosen(seen: Seen, weights: ReaderWeights) -> tuple[int, float]:
    """The candidate the reader picks for ``seen`` and its confidence in it.

    The same rule as :func:`engine.extract.extract`, with the held-out scorer's log-odds and the
    judge's verdict read from ``seen``.
    """
    logits = seen.scored()
    best = choose(logits, weights, seen.verdict)
    return best, confidence(logits, best, weights, seen.verdict)


def held_out_figures(seen: Sequence[Seen], weights: ReaderWeights) -> dict[str, float]:
    """What the reader does on held-out questions: answers holding the gold, declines with and without it."""
    answerable = [s for s in seen if not s.withheld and len(s.labels)]
    withheld = [s for s in seen if s.withheld and len(s.labels)]
    picks = [chosen(s, weights) for s in answerable]
    right = [bool(s.labels[best]) for s, (best, _) in zip(answerable, picks, strict=True)]
    answered = [p >= weights.threshold for _, p in picks]
    overlap = FEATURES.index("overlap")
    overlap_rule = [bool(s.labels[int(np.argmax(s.rows[:, overlap]))]) for s in answerable]
    declined_withheld = [chosen(s, weights)[1] < weights.threshold for s in withheld]
    return {
        "questions": len(answerable),
        "best_sentence_holds_gold_pct": percent(right),
        "answered_and_holds_gold_pct": percent(
            [r and a for r, a in zip(right, answered, strict=True)]
        ),
        "declines_answerable_pct": percent([not a for a in answered]),
        "declines_withheld_pct": percent(declined_withheld),
        "most_shared_terms_sentence_holds_gold_pct": percent(overlap_rule),
        "gold_in_candidates_pct": percent([s.labels.any() for s in answerable]),
    }


def percent(flags: Sequence[bool]) -> float:
    """Share of true flags, in percent with two decimals."""
    return round(100 * float(np.mean(flags)), 2) if len(flags) else 0.0


def judge_all(seen: Sequence[Seen], weights: ReaderWeights, judge: Judge) -> list[Seen]:
    """``seen`` with the judge's verdict on each question's shortlist under its held-out scorer."""
    return [
        replace(item, verdict=judged(item.question, item.sentences, item.scored(), weights, judge))
        if len(item.labels)
        else item
        for item in tqdm(seen, desc="judge (held out)", unit="question")
    ]


def calibrated(
    seen: Sequence[Seen], weights: ReaderWeights, target_decline: float
) -> ReaderWeights:
    """``weights`` with the threshold that declines ``target_decline`` of answerable ``seen``."""
    best = np.array([chosen(s, weights)[1] for s in seen if not s.withheld and len(s.labels)])
    return replace(weights, threshold=decline_threshold(best, target_decline))


def pick_weight(
    held_out: Sequence[Seen],
    weights: ReaderWeights,
    target_decline: float,
    field: str,
    tried: Sequence[float],
    figure: str,
) -> tuple[ReaderWeights, dict[str, float]]:
    """``weights`` with the value of ``field`` among ``tried`` that maximizes the held-out ``figure``.

    Each value is scored with its own threshold, declining ``target_decline`` of answerable held-out
    questions, so every value answers as many of them; a tie goes to the smaller value, so the
    judge only runs when it helps. Also returns the figure of every value tried.
    """
    scored = {}
    for value in tried:
        candidate = calibrated(held_out, replace(weights, **{field: value}), target_decline)
        scored[value] = (held_out_figures(held_out, candidate)[figure], candidate)
    best = max(tried, key=lambda value: (scored[value][0], -value))
    return scored[best][1], {str(value): scored[value][0] for value in tried}


def folds_of(split: Split, count: int) -> list[list[str]]:
    """The articles held out in turn: the dev articles, then the train articles dealt into the rest.

    Dealt in sorted order, so the folds are the same on every run and every machine.
    """
    if count < 2:
        raise UserError("cross-fitting needs at least 2 folds")
    rest = sorted(split.train)
    dealt = [rest[i :: count - 1] for i in range(count - 1)]
    return [fold for fold in [list(split.dev), *dealt] if fold]


def fit_scorer(seen: Sequence[Seen], regularization: float) -> ReaderWeights:
    """The logistic scorer fitted on every candidate sentence of ``seen`` (no threshold yet)."""
    from sklearn.linear_model import LogisticRegression

    rows = np.concatenate([s.rows for s in seen])
    labels = np.concatenate([s.labels for s in seen])
    model = LogisticRegression(C=regularization, max_iter=5000).fit(rows, labels)
    return ReaderWeights(
        coef=tuple(float(c) for c in model.coef_[0]),
        intercept=float(model.intercept_[0]),
        threshold=0.0,
    )


def cross_fitted(
    seen: Sequence[Seen],
    extra: Sequence[Seen],
    folds: Sequence[Sequence[str]],
    regularization: float,
) -> list[Seen]:
    """Each question of ``seen`` scored by the scorer fitted without its fold (and with ``extra``)."""
    held_out = []
    for fold in tqdm(folds, desc="cross-fit", unit="fold"):
        kept = [s for s in seen if s.article not in fold]
        weights = fit_scorer([*kept, *extra], regularization)
        held_out += scored_by([s for s in seen if s.article in fold], weights)
    return held_out


def fit_reader(
    index: HybridIndex,
    articles: dict[str, list[Question]],
    split: Split,
    top_k: int,
    target_decline: float,
    regularization: float = 1.0,
    extra: Sequence[tuple[HybridIndex, Sequence[Question]]] = (),
    judge: Judge | None = None,
    folds: int = 5,
) -> ReaderWeights:
    """Fit on the train and dev articles; choose the judge's weights and the threshold cross-fitted.

    ``extra`` adds training questions from other corpora (each searched in its own index), such
    as SQuAD 2.0's, whose unanswerable questions teach the reader when to decline; they are in
    every fold's fit and never held out. With a ``judge`` (the specialist's question likelihood),
    its weights are chosen from :data:`JUDGE_WEIGHTS` and :data:`LIFT_WEIGHTS` on the held-out
    questions; without one, the reader ranks by the scorer alone.
    """
    titles = [*split.train, *split.dev]
    missing = sorted(set(titles) - set(articles))
    if missing:
        raise UserError(f"the split names articles the QA file lacks: {', '.join(missing[:5])}")
    seen = observe_all(index, [q for t in titles for q in articles[t]], top_k, "articles")
    extra_seen = [
        item
        for extra_index, questions in extra
        for item in observe_all(extra_index, questions, top_k, "extra")
    ]
    chosen_folds = folds_of(split, folds)
    held_out = cross_fitted(seen, extra_seen, chosen_folds, regularization)
    weights = fit_scorer([*seen, *extra_seen], regularization)
    record: dict[str, Any] = {
        "fitted_on": {
            "articles": titles,
            "extra_questions": sum(len(questions) for _, questions in extra),
            "extra_unanswerable": sum(not q.answers for _, qs in extra for q in qs),
            "sentences": sum(len(s.labels) for s in [*seen, *extra_seen]),
        },
        "cross_fitted": {"folds": chosen_folds, "target_decline_answerable": target_decline},
        "top_k": top_k,
        "regularization": regularization,
    }
    if judge is not None:
        held_out = judge_all(held_out, weights, judge)
    return chosen_weights(held_out, weights, target_decline, record)


def chosen_weights(
    held_out: Sequence[Seen], weights: ReaderWeights, target_decline: float, record: dict[str, Any]
) -> ReaderWeights:
    """``weights`` with the judge's weights and the threshold chosen on ``held_out``.

    The judge's weights are chosen only when the held-out questions carry its verdicts; the
    choices and the held-out figures they give are added to ``record``.
    """
    record = dict(record)
    if any(item.verdict is not None for item in held_out):
        weights, tried = pick_weight(
            held_out,
            weights,
            target_decline,
            "judge_weight",
            JUDGE_WEIGHTS,
            "answered_and_holds_gold_pct",
        )
        weights, lifted = pick_weight(
            held_out, weights, target_decline, "lift_weight", LIFT_WEIGHTS, "declines_withheld_pct"
        )
        record["answered_and_holds_gold_pct_by_judge_weight"] = tried
        record["declines_withheld_pct_by_lift_weight"] = lifted
    else:
        weights = calibrated(held_out, weights, target_decline)
    record["held_out"] = held_out_figures(held_out, weights)
    record["held_out_by_fold"] = {
        " / ".join(fold): held_out_figures([s for s in held_out if s.article in fold], weights)
        for fold in record["cross_fitted"]["folds"]
    }
    return replace(weights, record=record)

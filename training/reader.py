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
that makes held-out answers hold the gold most often, each candidate weight with its own threshold.
Then the decision to decline gets its own model (:class:`engine.extract.Answerability`): the
scorer says which sentence is best, not whether any sentence answers, and with the answer withheld
near misses still share the question's words. It is fitted on the held-out questions' signals
(answerable against answer withheld), cross-fitted again over the same folds so that its figures
and threshold rest on questions it was not fitted on either.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from engine.extract import (
    ANSWERABILITY,
    FEATURES,
    JUDGED_SIGNALS,
    Answerability,
    Judge,
    ReaderWeights,
    Verdict,
    answerability_signals,
    candidates,
    choose,
    features,
    judged,
    sentence_vectors,
    sigmoid,
)
from retrieval.search import Hit, HybridIndex
from specialist.errors import UserError
from specialist.text import holds_answer
from training.raft import Question

WITHHELD_DEPTH = 16
"""Extra hits fetched for a withheld question, so ``top_k`` passages remain after removal."""
JUDGE_WEIGHTS = (0.0, 1.0, 2.0, 3.0, 5.0, 8.0)
"""The judge weights tried (0: the scorer alone), per question token of log-probability."""

Pick = tuple[int, float]
"""The candidate the reader picks for a question, and its confidence that it should answer."""


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
    vectors = sentence_vectors(index).of(question.question, hits)
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


def chosen(seen: Seen, weights: ReaderWeights) -> Pick:
    """The candidate the scorer (and judge) pick for ``seen``, with that sentence's probability.

    The same pick as :func:`engine.extract.extract`, with the held-out scorer's log-odds and the
    judge's verdict read from ``seen``; the confidence is the sentence's own, before any
    answerability model.
    """
    logits = seen.scored()
    best = choose(logits, weights, seen.verdict)
    return best, float(sigmoid(np.array(logits[best])))


def held_out_figures(
    seen: Sequence[Seen], picks: Sequence[Pick], threshold: float
) -> dict[str, float]:
    """What the reader does on held-out questions: answers holding the gold, declines with and without it.

    ``picks`` are the reader's picks for ``seen`` (in order); a confidence under ``threshold``
    declines.
    """
    answerable = [(s, p) for s, p in zip(seen, picks, strict=True) if not s.withheld]
    right = [bool(s.labels[best]) for s, (best, _) in answerable]
    answered = [sure >= threshold for _, (_, sure) in answerable]
    overlap = FEATURES.index("overlap")
    overlap_rule = [bool(s.labels[int(np.argmax(s.rows[:, overlap]))]) for s, _ in answerable]
    declined_withheld = [
        sure < threshold for s, (_, sure) in zip(seen, picks, strict=True) if s.withheld
    ]
    return {
        "questions": len(answerable),
        "best_sentence_holds_gold_pct": percent(right),
        "answered_and_holds_gold_pct": percent(
            [r and a for r, a in zip(right, answered, strict=True)]
        ),
        "declines_answerable_pct": percent([not a for a in answered]),
        "declines_withheld_pct": percent(declined_withheld),
        "most_shared_terms_sentence_holds_gold_pct": percent(overlap_rule),
        "gold_in_candidates_pct": percent([s.labels.any() for s, _ in answerable]),
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


def decline_threshold_for(
    seen: Sequence[Seen], picks: Sequence[Pick], target_decline: float
) -> float:
    """The confidence under which ``target_decline`` of the answerable ``seen`` are declined."""
    answerable = [sure for s, (_, sure) in zip(seen, picks, strict=True) if not s.withheld]
    return decline_threshold(np.array(answerable), target_decline)


def pick_judge_weight(
    held_out: Sequence[Seen], weights: ReaderWeights, target_decline: float
) -> tuple[ReaderWeights, dict[str, float]]:
    """``weights`` with the judge weight that makes most held-out answers hold the gold.

    Each weight is scored with its own threshold, declining ``target_decline`` of answerable
    held-out questions, so every weight answers as many of them; a tie goes to the smaller
    weight, so the judge only runs when it helps. Also returns the figure of every weight tried.
    """
    scored = {}
    for value in JUDGE_WEIGHTS:
        candidate = replace(weights, judge_weight=value)
        picks = [chosen(s, candidate) for s in held_out]
        threshold = decline_threshold_for(held_out, picks, target_decline)
        figure = held_out_figures(held_out, picks, threshold)["answered_and_holds_gold_pct"]
        scored[value] = figure
    best = max(JUDGE_WEIGHTS, key=lambda value: (scored[value], -value))
    return replace(weights, judge_weight=best), {str(v): scored[v] for v in JUDGE_WEIGHTS}


def fit_answerability(
    seen: Sequence[Seen], signals: Sequence[dict[str, float]], names: Sequence[str]
) -> Answerability:
    """The logistic answerability model: answerable ``seen`` against withheld ones."""
    from sklearn.linear_model import LogisticRegression

    rows = np.array([[signal[name] for name in names] for signal in signals])
    mean = rows.mean(0)
    scale = np.where(rows.std(0) > 0, rows.std(0), 1.0)
    labels = np.array([not s.withheld for s in seen])
    model = LogisticRegression(max_iter=5000).fit((rows - mean) / scale, labels)
    return Answerability(
        coef=tuple(float(c) for c in model.coef_[0]),
        intercept=float(model.intercept_[0]),
        mean=tuple(float(m) for m in mean),
        scale=tuple(float(v) for v in scale),
        features=tuple(names),
    )


def cross_fitted_answerability(
    held_out: Sequence[Seen],
    weights: ReaderWeights,
    idf: Callable[[list[str]], list[float]],
    folds: Sequence[Sequence[str]],
) -> tuple[list[Pick], Answerability]:
    """Each held-out question's pick, with the confidence of an answerability model not fitted on it.

    The answerability model of a fold is fitted on the other folds' held-out questions; the one
    returned, to ship, on all of them. The judge's signals are used when the questions carry
    its verdicts.
    """
    judged_all = all(s.verdict is not None for s in held_out)
    names = [n for n in ANSWERABILITY if judged_all or n not in JUDGED_SIGNALS]
    bests = [choose(s.scored(), weights, s.verdict) for s in held_out]
    signals = [
        answerability_signals(s.question, s.sentences, s.rows, s.scored(), best, s.verdict, idf)
        for s, best in zip(held_out, bests, strict=True)
    ]
    sure = np.zeros(len(held_out))
    articles = np.array([s.article for s in held_out])
    for fold in folds:
        inside = np.isin(articles, list(fold))
        if not inside.any():
            continue
        outside = np.flatnonzero(~inside)
        model = fit_answerability(
            [held_out[i] for i in outside], [signals[i] for i in outside], names
        )
        for i in np.flatnonzero(inside):
            sure[i] = model.probability(signals[i])
    picks = [(best, float(p)) for best, p in zip(bests, sure, strict=True)]
    return picks, fit_answerability(held_out, signals, names)


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
    its weight is chosen from :data:`JUDGE_WEIGHTS` on the held-out questions and its verdict
    joins the answerability signals; without one, the reader ranks by the scorer alone.
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
    held_out = [item for item in held_out if len(item.labels)]
    if judge is not None:
        held_out = judge_all(held_out, weights, judge)
    return chosen_weights(held_out, weights, index.idf, target_decline, record)


def chosen_weights(
    held_out: Sequence[Seen],
    weights: ReaderWeights,
    idf: Callable[[list[str]], list[float]],
    target_decline: float,
    record: dict[str, Any],
) -> ReaderWeights:
    """``weights`` with the judge's weight, the answerability model and the threshold, held out.

    The judge's weight is chosen only when the held-out questions carry its verdicts. The
    threshold declines ``target_decline`` of the answerable held-out questions under the
    cross-fitted answerability model. The choices, and the figures before the answerability model
    (the chosen sentence's own probability as the confidence) and after it, go into ``record``.
    """
    record = dict(record)
    if any(item.verdict is not None for item in held_out):
        weights, tried = pick_judge_weight(held_out, weights, target_decline)
        record["answered_and_holds_gold_pct_by_judge_weight"] = tried
    alone = [chosen(s, weights) for s in held_out]
    record["held_out_sentence_confidence"] = held_out_figures(
        held_out, alone, decline_threshold_for(held_out, alone, target_decline)
    )
    picks, answerability = cross_fitted_answerability(
        held_out, weights, idf, record["cross_fitted"]["folds"]
    )
    threshold = decline_threshold_for(held_out, picks, target_decline)
    record["held_out"] = held_out_figures(held_out, picks, threshold)
    record["held_out_by_fold"] = {}
    for fold in record["cross_fitted"]["folds"]:
        inside = [i for i, s in enumerate(held_out) if s.article in fold]
        record["held_out_by_fold"][" / ".join(fold)] = held_out_figures(
            [held_out[i] for i in inside], [picks[i] for i in inside], threshold
        )
    return replace(weights, answerability=answerability, threshold=threshold, record=record)

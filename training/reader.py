"""Fit the extractive reader's scorer on training articles; set its decline threshold on dev.

Honest method: the logistic model is fitted on questions of the *train* articles of the split
file only; the threshold under which the reader declines is the one that declines
``target_decline`` of the answerable *dev* questions; every figure recorded with the weights is a
dev figure. The held-out test articles are never read here.

Each question is seen twice, as in evaluation: with the passages retrieval returns, and with every
passage holding the answer withheld (all its sentences are then negatives), so the scorer learns
what a near miss looks like as well as a hit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from engine.extract import FEATURES, ReaderWeights, candidates, features, sentence_vectors
from retrieval.search import Hit, HybridIndex
from specialist.errors import UserError
from specialist.text import holds_answer
from training.raft import Question

WITHHELD_DEPTH = 16
"""Extra hits fetched for a withheld question, so ``top_k`` passages remain after removal."""


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
    """One question's candidate sentences as the reader sees them, labelled."""

    rows: np.ndarray
    labels: np.ndarray
    withheld: bool


def observe(index: HybridIndex, question: Question, hits: Sequence[Hit], withheld: bool) -> Seen:
    """Features and labels (sentence holds a gold answer) of every candidate sentence."""
    found = candidates(hits)
    if not found:
        return Seen(np.zeros((0, len(FEATURES))), np.zeros(0, dtype=bool), withheld)
    vectors = sentence_vectors(index)([question.question, *(c.text for c in found)])
    rows = features(question.question, found, hits, vectors[1:] @ vectors[0], index.idf)
    labels = np.array([holds_answer(c.text, question.answers) for c in found])
    return Seen(rows, labels, withheld)


def observe_all(
    index: HybridIndex, questions: Sequence[Question], top_k: int, desc: str
) -> list[Seen]:
    """Each question with its retrieved passages and again with the answer withheld."""
    seen = []
    for question in tqdm(questions, desc=desc, unit="question"):
        seen.append(observe(index, question, index.search(question.question, k=top_k), False))
        seen.append(observe(index, question, withheld_hits(index, question, top_k), True))
    return seen


def decline_threshold(best: np.ndarray, target_decline: float) -> float:
    """The probability under which ``target_decline`` of answerable questions are declined."""
    return float(np.quantile(best, target_decline)) if len(best) else 0.5


def dev_figures(seen: Sequence[Seen], weights: ReaderWeights) -> dict[str, float]:
    """What the reader does on dev: answers holding the gold, declines with and without it."""
    answerable = [s for s in seen if not s.withheld and len(s.labels)]
    withheld = [s for s in seen if s.withheld and len(s.labels)]
    chosen = [weights.probabilities(s.rows) for s in answerable]
    right = [bool(s.labels[int(np.argmax(p))]) for s, p in zip(answerable, chosen, strict=True)]
    answered = [p.max() >= weights.threshold for p in chosen]
    overlap = FEATURES.index("overlap")
    overlap_rule = [bool(s.labels[int(np.argmax(s.rows[:, overlap]))]) for s in answerable]
    return {
        "questions": len(answerable),
        "best_sentence_holds_gold_pct": round(100 * float(np.mean(right)), 2),
        "answered_and_holds_gold_pct": round(
            100 * float(np.mean([r and a for r, a in zip(right, answered, strict=True)])), 2
        ),
        "declines_answerable_pct": round(100 * (1 - float(np.mean(answered))), 2),
        "declines_withheld_pct": round(
            100
            * float(
                np.mean([weights.probabilities(s.rows).max() < weights.threshold for s in withheld])
            ),
            2,
        ),
        "most_shared_terms_sentence_holds_gold_pct": round(100 * float(np.mean(overlap_rule)), 2),
        "gold_in_candidates_pct": round(
            100 * float(np.mean([s.labels.any() for s in answerable])), 2
        ),
    }


def fit_reader(
    index: HybridIndex,
    articles: dict[str, list[Question]],
    split: Split,
    top_k: int,
    target_decline: float,
    regularization: float = 1.0,
) -> ReaderWeights:
    """Fit on train articles, set the threshold and record the figures on dev articles."""
    from sklearn.linear_model import LogisticRegression

    missing = sorted(set(split.train + split.dev) - set(articles))
    if missing:
        raise UserError(f"the split names articles the QA file lacks: {', '.join(missing[:5])}")
    train = observe_all(index, [q for t in split.train for q in articles[t]], top_k, "train")
    dev = observe_all(index, [q for t in split.dev for q in articles[t]], top_k, "dev")
    rows = np.concatenate([s.rows for s in train])
    labels = np.concatenate([s.labels for s in train])
    model = LogisticRegression(C=regularization, max_iter=5000).fit(rows, labels)
    fitted = ReaderWeights(
        coef=tuple(float(c) for c in model.coef_[0]),
        intercept=float(model.intercept_[0]),
        threshold=0.0,
    )
    best = np.array(
        [fitted.probabilities(s.rows).max() for s in dev if not s.withheld and len(s.labels)]
    )
    threshold = decline_threshold(best, target_decline)
    record: dict[str, Any] = {
        "fitted_on": {"articles": split.train, "sentences": len(labels)},
        "threshold_from": {"articles": split.dev, "target_decline_answerable": target_decline},
        "top_k": top_k,
        "regularization": regularization,
    }
    weights = ReaderWeights(fitted.coef, fitted.intercept, threshold, FEATURES, record)
    record["dev"] = dev_figures(dev, weights)
    return weights

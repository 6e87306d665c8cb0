"""The extractive reader: answer with the retrieved sentence most likely to hold the answer.

On held-out questions the gold answer is in the top four retrieved chunks 97-99% of the time, but
the 135M-parameter specialist, asked to write an answer from them, produced one holding it only
28% of the time; copying the sentence that shares most terms with the question did 72%. This
reader scores every sentence of the retrieved chunks with a small logistic model over cheap,
meaningful signals (term overlap weighted by the index's IDF, the embedder's cosine similarity,
the chunk's rank, whether a sentence can hold the kind of answer asked for: a year for "when", a
number for "how many", a name for "who") and answers with the best sentence, cited. Whether to
answer at all is a second, question-level model (:class:`Answerability`): with the answer withheld,
near misses still share the question's words, so it looks at the whole candidate set (how much of
the question the passages cover, how far the best sentence stands out, the judge's verdict) and
the reader declines when it doubts any passage answers: that is what makes abstention hold.

The answer is copied from the documents, so it can never state what no passage says. The weights
are fitted by ``specialist train-reader`` on training articles, and the judge's weight, the
answerability model and the decline threshold chosen on those articles' questions cross-fitted,
each scored by models not fitted on it (:mod:`training.reader`); they ship as
``engine/reader.json``.
"""

from __future__ import annotations

import json
import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.focus import most_shared_terms
from retrieval.artifacts import bm25_tokens
from retrieval.sentences import sentence_texts
from specialist.errors import UserError
from specialist.text import sentences

if TYPE_CHECKING:
    from retrieval.search import Hit, HybridIndex

SHIPPED_WEIGHTS = Path(__file__).with_name("reader.json")
CACHED_SENTENCES = 20_000
"""Sentence vectors kept per index: 384 floats each, about 30 MB when full."""

YEAR_OR_DATE = re.compile(
    r"\b(1[0-9]{3}|20[0-9]{2})s?\b|\b(January|February|March|April|May|June|July|August|"
    r"September|October|November|December|century|centuries)\b"
)
DIGIT = re.compile(r"\d")
CAPITALIZED = re.compile(r"\b[A-Z][\w\-]+")
WORD = re.compile(r"\w+")
ASKED_FOR = (
    ("what year", "time"),
    ("how many", "number"),
    ("how much", "number"),
    ("when", "time"),
    ("who", "person"),
    ("whom", "person"),
    ("whose", "person"),
)

FEATURES = (
    "overlap",
    "overlap_frac",
    "idf_frac",
    "cos",
    "rank0",
    "rank",
    "dense",
    "first",
    "sidx",
    "prev_ov",
    "next_ov",
    "novel",
    "len",
    "time_match",
    "time_miss",
    "number_match",
    "number_miss",
    "person_match",
    "person_miss",
    "capitalized",
    "overlap_gap",
    "idf_frac_gap",
    "cos_gap",
)
"""Every signal, in the order of the weights (see :func:`features` for what each one means)."""

ANSWERABILITY = (
    "best_logit",
    "logit_gap",
    "logit_mass",
    "coverage",
    "rarest_missing",
    "chunk_coverage",
    "best_cos",
    "top_dense",
    "lift",
    "best_given_vs_none",
    "unconditional",
)
"""The question-level signals the decision to decline may rest on (:func:`answerability_signals`)."""
JUDGED_SIGNALS = frozenset({"lift", "best_given_vs_none", "unconditional"})
"""The signals that need the judge's verdict."""
FUNCTION_WORDS = frozenset(
    bm25_tokens(
        [
            "what which who whom whose when where why how do does did it its they their them he "
            "his him she her can could would should will has have had be been being this that "
            "these those there many much"
        ]
    )[0]
)
"""Stems of question words, auxiliaries and pronouns: no passage "covers" them. In a small corpus
that lacks them they get the highest IDF there is, and counting them would make every question look
half unanswered."""


@dataclass(frozen=True)
class Candidate:
    """One sentence of a retrieved chunk: ``rank`` is the chunk's place in the hit list."""

    rank: int
    index: int
    text: str
    start: int
    end: int


def candidates(hits: Sequence[Hit]) -> list[Candidate]:
    """Every sentence of every hit, in hit order, then sentence order."""
    found = []
    for rank, hit in enumerate(hits):
        spans = sentences(hit.text)
        for index, (text, (start, end)) in enumerate(
            zip(sentence_texts(hit.text, spans), spans, strict=True)
        ):
            found.append(Candidate(rank, index, text, start, end))
    return found


def asked_for(question: str) -> str | None:
    """The kind of answer a question asks for, when its wording tells: time, number, person."""
    lowered = question.lower()
    for words, kind in ASKED_FOR:
        if re.search(rf"\b{words}\b", lowered):
            return kind
    return None


def new_capitalized(sentence: str, question: str) -> int:
    """Capitalized words of ``sentence`` (its first word aside) that the question does not use."""
    asked = {word.lower() for word in WORD.findall(question)}
    return sum(1 for word in CAPITALIZED.findall(sentence)[1:] if word.lower() not in asked)


def features(
    question: str,
    found: Sequence[Candidate],
    hits: Sequence[Hit],
    cosines: np.ndarray,
    idf: Callable[[list[str]], list[float]],
) -> np.ndarray:
    """One row of :data:`FEATURES` per candidate sentence.

    ``cosines`` are the embedder's question-sentence similarities; ``idf`` gives the index's
    inverse document frequency of stemmed terms, so rare shared terms count for more.
    """
    asked = set(bm25_tokens([question])[0])
    asked_weight = sum(idf(sorted(asked))) or 1.0
    terms = [set(tokens) for tokens in bm25_tokens([c.text for c in found])]
    overlaps = [len(asked & t) for t in terms]
    kind = asked_for(question)
    rows = []
    for i, (candidate, sentence_terms) in enumerate(zip(found, terms, strict=True)):
        shared = sorted(asked & sentence_terms)
        same_chunk_before = i > 0 and found[i - 1].rank == candidate.rank
        same_chunk_after = i + 1 < len(found) and found[i + 1].rank == candidate.rank
        has_time = bool(YEAR_OR_DATE.search(candidate.text))
        has_number = bool(DIGIT.search(candidate.text))
        names = new_capitalized(candidate.text, question)
        rows.append(
            {
                "overlap": overlaps[i],
                "overlap_frac": overlaps[i] / max(1, len(asked)),
                "idf_frac": sum(idf(shared)) / asked_weight,
                "cos": float(cosines[i]),
                "rank0": float(candidate.rank == 0),
                "rank": candidate.rank,
                "dense": hits[candidate.rank].dense_score or 0.0,
                "first": float(candidate.index == 0),
                "sidx": candidate.index,
                "prev_ov": (overlaps[i - 1] if same_chunk_before else 0) / max(1, len(asked)),
                "next_ov": (overlaps[i + 1] if same_chunk_after else 0) / max(1, len(asked)),
                "novel": min(len(sentence_terms - asked), 40) / 40,
                "len": min(len(candidate.text.split()), 80) / 80,
                "time_match": float(kind == "time" and has_time),
                "time_miss": float(kind == "time" and not has_time),
                "number_match": float(kind == "number" and has_number),
                "number_miss": float(kind == "number" and not has_number),
                "person_match": float(kind == "person" and names > 0),
                "person_miss": float(kind == "person" and names == 0),
                "capitalized": min(names, 10) / 10,
            }
        )
    for key in ("overlap", "idf_frac", "cos"):
        best = max(row[key] for row in rows)
        for row in rows:
            row[f"{key}_gap"] = best - row[key]
    return np.array([[row[name] for name in FEATURES] for row in rows], dtype=np.float64)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Probabilities from log-odds."""
    return 1.0 / (1.0 + np.exp(-logits))


def idf_coverage(asked: Sequence[str], weights: np.ndarray, terms: set[str]) -> float:
    """The share of the question's IDF weight whose terms are in ``terms``."""
    total = float(weights.sum())
    if not total:
        return 0.0
    return float(sum(w for term, w in zip(asked, weights, strict=True) if term in terms) / total)


def answerability_signals(
    question: str,
    texts: Sequence[str],
    rows: np.ndarray,
    logits: np.ndarray,
    best: int,
    verdict: Verdict | None,
    idf: Callable[[list[str]], list[float]],
) -> dict[str, float]:
    """What tells a question its passages answer from one they only brush against.

    The sentence scorer answers "which sentence?"; declining needs "does any?". A question whose
    answer was withheld usually still finds sentences sharing its words, so the best sentence's
    score alone separates poorly. These signals look at the whole candidate set: how far the best
    sentence stands out (``logit_gap``) and how much probability all of them carry
    (``logit_mass``); how much of the question's IDF weight the passages cover at all
    (``coverage``), the rarest question term they lack (``rarest_missing``, its IDF over the
    question's rarest), how much the best sentence's own passage covers (``chunk_coverage``); the
    embedder's and the retriever's view (``best_cos``, ``top_dense``); and, with the judge's
    verdict, how much likelier the chosen sentence makes the question than no passage
    (``lift``), the same for the judge's favourite (``best_given_vs_none``), and how predictable
    the question is with no passage at all (``unconditional``).
    """
    asked = sorted(set(bm25_tokens([question])[0]) - FUNCTION_WORDS)
    weights = np.asarray(idf(asked), dtype=np.float64) if asked else np.zeros(0)
    terms = [set(tokens) for tokens in bm25_tokens(list(texts))]
    everywhere = set().union(*terms)
    rank = FEATURES.index("rank")
    same_passage = rows[:, rank] == rows[best, rank]
    passage = set().union(*(t for t, same in zip(terms, same_passage, strict=True) if same))
    missing = [w for term, w in zip(asked, weights, strict=True) if term not in everywhere]
    ordered = np.sort(logits)[::-1]
    signals = {
        "best_logit": float(logits[best]),
        "logit_gap": float(ordered[0] - ordered[1]) if len(ordered) > 1 else 0.0,
        "logit_mass": float(np.logaddexp.reduce(logits)),
        "coverage": idf_coverage(asked, weights, everywhere),
        "rarest_missing": float(max(missing) / weights.max()) if missing else 0.0,
        "chunk_coverage": idf_coverage(asked, weights, passage),
        "best_cos": float(rows[best, FEATURES.index("cos")]),
        "top_dense": float(rows[:, FEATURES.index("dense")].max()),
    }
    if verdict is not None:
        signals["lift"] = verdict.lift(best) if best in verdict.shortlist else 0.0
        signals["best_given_vs_none"] = float(verdict.given.max() - verdict.unconditional)
        signals["unconditional"] = verdict.unconditional
    return signals


@dataclass(frozen=True)
class Answerability:
    """``P(the passages answer the question)``, a logistic model over standardized signals.

    Fitted by ``specialist train-reader`` on questions asked with their passages and again with
    every passage holding the answer withheld, each scored by a sentence scorer not fitted on it.
    """

    coef: tuple[float, ...]
    intercept: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    features: tuple[str, ...]

    @property
    def uses_judge(self) -> bool:
        """Whether some signal needs the judge's verdict."""
        return bool(JUDGED_SIGNALS & set(self.features))

    def probability(self, signals: dict[str, float]) -> float:
        """The model's probability for one question's :func:`answerability_signals`."""
        try:
            row = np.array([signals[name] for name in self.features])
        except KeyError as exc:
            raise ValueError(f"the answerability model needs the judge's {exc}") from None
        standardized = (row - np.asarray(self.mean)) / np.asarray(self.scale)
        return float(sigmoid(np.array(standardized @ np.asarray(self.coef) + self.intercept)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Answerability:
        """The model from its JSON object; ``ValueError`` when it names unknown signals."""
        model = cls(
            coef=tuple(float(c) for c in data["coef"]),
            intercept=float(data["intercept"]),
            mean=tuple(float(m) for m in data["mean"]),
            scale=tuple(float(v) for v in data["scale"]),
            features=tuple(data["features"]),
        )
        unknown = set(model.features) - set(ANSWERABILITY)
        if unknown or not len(model.coef) == len(model.mean) == len(model.scale) == len(
            model.features
        ):
            raise ValueError(f"answerability model with unknown or mismatched signals {unknown}")
        return model


@dataclass(frozen=True)
class ReaderWeights:
    """A fitted scorer: ``P(sentence holds the answer) = sigmoid(features · coef + intercept)``.

    When ``judge_weight`` is above zero, the scorer's ``judge_shortlist`` best sentences are ranked
    again by ``logit + judge_weight * log P(question | sentence)`` (per question token, under the
    specialist: :mod:`engine.judge`). The reader's confidence that it should answer is the
    ``answerability`` model's probability when there is one, else the chosen sentence's own;
    ``threshold`` is the confidence below which the reader declines. ``record`` says how the
    weights were fitted and what they scored on held-out questions.
    """

    coef: tuple[float, ...]
    intercept: float
    threshold: float
    features: tuple[str, ...] = FEATURES
    record: dict[str, Any] = field(default_factory=dict)
    judge_weight: float = 0.0
    judge_shortlist: int = 4
    answerability: Answerability | None = None

    @property
    def uses_judge(self) -> bool:
        """Whether the specialist's judgement changes what the reader picks or declines."""
        return self.judge_weight > 0 or (
            self.answerability is not None and self.answerability.uses_judge
        )

    def logits(self, rows: np.ndarray) -> np.ndarray:
        """The scorer's log-odds for each row of :func:`features`."""
        return rows @ np.asarray(self.coef) + self.intercept

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """The scorer's probability for each row of :func:`features`."""
        return sigmoid(self.logits(rows))

    def to_json(self) -> str:
        """The weights as JSON text (readable, diffable, and no pickle to trust)."""
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def load(cls, path: Path) -> ReaderWeights:
        """Read weights written from :meth:`to_json`; a clear error when they do not fit this code."""
        try:
            data = json.loads(path.read_text())
            weights = cls(
                coef=tuple(float(c) for c in data["coef"]),
                intercept=float(data["intercept"]),
                threshold=float(data["threshold"]),
                features=tuple(data["features"]),
                record=dict(data.get("record", {})),
                judge_weight=float(data.get("judge_weight", 0.0)),
                judge_shortlist=int(data.get("judge_shortlist", 4)),
                answerability=Answerability.from_dict(data["answerability"])
                if data.get("answerability")
                else None,
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UserError(f"reader weights {path} cannot be read: {exc}") from None
        if weights.features != FEATURES or len(weights.coef) != len(FEATURES):
            raise UserError(
                f"reader weights {path} were fitted for other features; "
                "refit them with `specialist train-reader`"
            )
        return weights


@dataclass(frozen=True)
class Extracted:
    """The reader's choice: the best sentence, the confidence in it, and whether to answer with it."""

    candidate: Candidate | None
    probability: float
    answered: bool


Judge = Callable[[str, list[str]], np.ndarray]
"""``judge(question, sentences)``: ``log P(question | sentence)`` per question token, each sentence
(an empty one: the question with no passage)."""


@dataclass(frozen=True)
class Verdict:
    """The judge on a question's shortlist: each sentence's score, and the score with no passage."""

    shortlist: np.ndarray
    given: np.ndarray
    unconditional: float

    def lift(self, candidate: int) -> float:
        """How much likelier (log, per question token) ``candidate`` makes the question."""
        return float(self.given[list(self.shortlist).index(candidate)] - self.unconditional)


def shortlist(logits: np.ndarray, size: int) -> np.ndarray:
    """Indices of the ``size`` highest logits, best first (ties keep candidate order)."""
    return np.argsort(-logits, kind="stable")[:size]


def judged(
    question: str, texts: Sequence[str], logits: np.ndarray, weights: ReaderWeights, judge: Judge
) -> Verdict:
    """The judge's verdict on the scorer's shortlist of ``texts``: one batched forward pass."""
    short = shortlist(logits, weights.judge_shortlist)
    scores = judge(question, [texts[i] for i in short] + [""])
    return Verdict(short, scores[:-1], float(scores[-1]))


def choose(logits: np.ndarray, weights: ReaderWeights, verdict: Verdict | None = None) -> int:
    """The chosen candidate: the best logit, or the judge's pick among the scorer's shortlist."""
    if verdict is None or weights.judge_weight <= 0 or len(logits) < 2:
        return int(np.argmax(logits))
    short = verdict.shortlist
    return int(short[np.argmax(logits[short] + weights.judge_weight * verdict.given)])


def confidence(
    question: str,
    texts: Sequence[str],
    rows: np.ndarray,
    logits: np.ndarray,
    best: int,
    weights: ReaderWeights,
    verdict: Verdict | None,
    idf: Callable[[list[str]], list[float]],
) -> float:
    """The reader's confidence that candidate ``best`` should be the answer, not a decline.

    The answerability model's probability, over the question's :func:`answerability_signals`;
    weights without one use the chosen sentence's probability.
    """
    if weights.answerability is None:
        return float(sigmoid(np.array(logits[best])))
    signals = answerability_signals(question, texts, rows, logits, best, verdict, idf)
    return weights.answerability.probability(signals)


def one_line(text: str) -> str:
    """``text`` with its line breaks and runs of spaces as single spaces."""
    return " ".join(text.split())


def extract(
    question: str,
    hits: Sequence[Hit],
    weights: ReaderWeights,
    vectors: Callable[[str, Sequence[Hit]], np.ndarray],
    idf: Callable[[list[str]], list[float]],
    judge: Judge | None = None,
) -> Extracted:
    """The sentence of ``hits`` most likely to answer ``question``, or a decline.

    With a ``judge`` and weights that use it, the judge re-ranks the scorer's shortlist and its
    verdict joins the signals the decision to decline rests on.
    """
    found = candidates(hits)
    if not found:
        return Extracted(None, 0.0, False)
    texts = [c.text for c in found]
    embedded = vectors(question, hits)
    rows = features(question, found, hits, embedded[1:] @ embedded[0], idf)
    logits = weights.logits(rows)
    verdict = None
    if judge is not None and weights.uses_judge:
        verdict = judged(question, texts, logits, weights, judge)
    best = choose(logits, weights, verdict)
    sure = confidence(question, texts, rows, logits, best, weights, verdict, idf)
    return Extracted(found[best], sure, sure >= weights.threshold)


def best_matching_sentence(question: str, hits: Sequence[Hit]) -> Candidate | None:
    """The sentence of ``hits`` sharing most terms with the question, by passage focusing's rule.

    No model at all: the reference every reader must beat (``specialist eval all``'s extractive
    row).
    """
    found = candidates(hits)
    if not found:
        return None
    return found[most_shared_terms(question, [c.text for c in found])[0]]


class SentenceVectors:
    """The embedder's vectors of a question and of its hits' sentences.

    A hit that is one of the index's chunks as indexed has its sentences' vectors from the index
    (embedded when it was built, :mod:`retrieval.sentences`). Any other text (a chunk with its
    answer withheld, an index built before sentence vectors were stored) is embedded and
    remembered, least recently used first to go: the same chunks come back for related questions.
    """

    def __init__(
        self,
        embed: Callable[[list[str]], np.ndarray],
        capacity: int,
        stored: Callable[[Hit], np.ndarray | None] = lambda hit: None,
    ) -> None:
        self._embed = embed
        self._capacity = capacity
        self._stored = stored
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, question: str, hits: Sequence[Hit]) -> np.ndarray:
        """The question's vector, then one per sentence of :func:`candidates` of ``hits``."""
        blocks = [self._stored(hit) for hit in hits]
        texts = [c.text for c in candidates(hits) if blocks[c.rank] is None]
        embedded = self([question, *texts])
        rows, start = [embedded[:1]], 1
        for hit, block in zip(hits, blocks, strict=True):
            if block is None:
                block = embedded[start : start + len(sentences(hit.text))]
                start += len(block)
            rows.append(block)
        return np.concatenate(rows)

    def __call__(self, texts: list[str]) -> np.ndarray:
        """One normalized vector per text, in order."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        fresh = dict(zip(missing, self._embed(missing), strict=True)) if missing else {}
        with self._lock:
            rows = []
            for text in texts:
                vector = fresh.get(text)
                if vector is None:
                    vector = self._vectors[text]
                    self._vectors.move_to_end(text)
                else:
                    self._vectors[text] = vector
                rows.append(vector)
            while len(self._vectors) > self._capacity:
                self._vectors.popitem(last=False)
        return np.stack(rows)


_VECTORS: weakref.WeakKeyDictionary[HybridIndex, SentenceVectors] = weakref.WeakKeyDictionary()
_VECTORS_LOCK = threading.Lock()


def sentence_vectors(index: HybridIndex) -> SentenceVectors:
    """The sentence-vector memory of ``index`` (it goes when the index version is dropped)."""
    with _VECTORS_LOCK:
        vectors = _VECTORS.get(index)
        if vectors is None:
            vectors = _VECTORS[index] = SentenceVectors(
                index.embed, CACHED_SENTENCES, index.stored_sentence_vectors
            )
        return vectors

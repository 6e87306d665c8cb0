"""Grounded QA on held-out questions: the same questions answered by each of the four systems.

Retrieval runs over every article of the SQuAD file (training articles included, as distractors,
exactly like the served corpus), but only questions of held-out articles are asked. Retrieval
results are computed once per question and shared by both models, so the two "+ retrieval" systems
see identical passages. A sample of questions is asked a second time with every passage that holds
the answer withheld: the right reply then is the template's "the documents do not say".
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from engine.answering import MARKER, AnswerPolicy, Numbered, cited_numbers, grounded_answer
from engine.generate import stream_tokens
from engine.loader import Specialist
from retrieval.corpus_xquad import write_xquad_corpus
from retrieval.indexer import build_index
from retrieval.search import Hit, HybridIndex, open_index
from specialist.prompt import closed_book_request, render
from specialist.settings import Settings
from training.evaluate import is_abstention, normalize_answer, token_f1
from training.raft import Question

WITHHELD_DEPTH = 16
"""Extra hits fetched for a withheld question, so ``top_k`` passages remain after removal."""


@dataclass(frozen=True)
class Retrieved:
    """What retrieval gave one question: the normal hits and the hits with the answer withheld."""

    hits: list[Hit]
    withheld: list[Hit] | None
    seconds: float


@dataclass(frozen=True)
class Answer:
    """One system's answer to one question, scored."""

    text: str
    tokens: int
    seconds: float
    generate_seconds: float
    contains_gold: bool
    f1: float
    abstained: bool
    citation_correct: bool | None


def qa_index(settings: Settings, squad: Path, squad_sha256: str) -> HybridIndex:
    """Index the SQuAD file's articles as Markdown into scratch folders under the home.

    Both folders are keyed by the file's hash; a second run reuses every embedding.
    """
    key = squad_sha256[:10]
    docs = settings.home / "eval-data" / f"qa-{key}"
    root = settings.home / "eval-indexes" / f"qa-{key}"
    write_xquad_corpus(squad, docs)
    build_index(settings, docs, root=root)
    index = open_index(settings, root=root)
    assert index is not None, "build_index always leaves a current version"
    return index


def contains_answer(text: str, answers: Sequence[str]) -> bool:
    """Whether ``text`` holds one of the gold answer spans (case-insensitive)."""
    lowered = text.lower()
    return any(answer.lower() in lowered for answer in answers)


def retrieve_all(
    index: HybridIndex, questions: Sequence[Question], top_k: int, withheld: int
) -> list[Retrieved]:
    """Hits for every question; for the first ``withheld`` ones also hits without the answer."""
    results = []
    for number, question in enumerate(tqdm(questions, desc="retrieve", unit="question")):
        begin = time.perf_counter()
        hits = index.search(question.question, k=top_k)
        seconds = time.perf_counter() - begin
        without = None
        if number < withheld:
            deep = index.search(question.question, k=top_k + WITHHELD_DEPTH)
            without = [h for h in deep if not contains_answer(h.text, question.answers)][:top_k]
        results.append(Retrieved(hits, without, seconds))
    return results


def score_answer(
    text: str,
    question: Question,
    passages: Sequence[Numbered] | None,
    tokens: int,
    seconds: float,
    generate_seconds: float,
) -> Answer:
    """Contains-gold, token F1 and abstention; citation correctness when there were passages.

    A citation is correct when the answer cites at least one passage and every cited passage
    exists and holds a gold answer span.
    """
    plain = MARKER.sub(" ", text)
    citation_correct = None
    if passages is not None:
        by_n = {p.n: p.text for p in passages}
        cited = cited_numbers(text)
        citation_correct = bool(cited) and all(
            n in by_n and contains_answer(by_n[n], question.answers) for n in cited
        )
    return Answer(
        text=text,
        tokens=tokens,
        seconds=seconds,
        generate_seconds=generate_seconds,
        contains_gold=any(
            normalize_answer(a) in normalize_answer(plain) for a in question.answers if a.strip()
        ),
        f1=max(token_f1(plain, a) for a in question.answers),
        abstained=is_abstention(text),
        citation_correct=citation_correct,
    )


def closed_book(specialist: Specialist, question: Question, max_new_tokens: int) -> Answer:
    """Answer from the model's weights alone."""
    prompt = render(specialist.tokenizer, closed_book_request(question.question))
    begin = time.perf_counter()
    pieces = list(stream_tokens(specialist.model, specialist.tokenizer, prompt, max_new_tokens))
    seconds = time.perf_counter() - begin
    return score_answer("".join(pieces).strip(), question, None, len(pieces), seconds, seconds)


def with_retrieval(
    specialist: Specialist,
    question: Question,
    hits: Sequence[Hit],
    retrieve_seconds: float,
    max_new_tokens: int,
    settings: Settings,
) -> Answer:
    """Answer through the product's pipeline (relevance gate, prompt budget, template)."""
    begin = time.perf_counter()
    result = grounded_answer(
        specialist,
        question.question,
        hits,
        max_new_tokens,
        AnswerPolicy.from_settings(settings),
    )
    seconds = time.perf_counter() - begin
    return score_answer(
        result.answer,
        question,
        result.passages,
        result.tokens,
        retrieve_seconds + seconds,
        seconds,
    )


def answer_all(
    specialist: Specialist,
    questions: Sequence[Question],
    retrieved: Sequence[Retrieved] | None,
    max_new_tokens: int,
    settings: Settings,
    desc: str,
) -> list[Answer]:
    """Every question answered closed book (``retrieved`` None) or from its retrieved hits."""
    answers = []
    for number, question in enumerate(tqdm(questions, desc=desc, unit="question")):
        if retrieved is None:
            answers.append(closed_book(specialist, question, max_new_tokens))
        else:
            found = retrieved[number]
            answers.append(
                with_retrieval(
                    specialist, question, found.hits, found.seconds, max_new_tokens, settings
                )
            )
    return answers


def withheld_abstention(
    specialist: Specialist,
    questions: Sequence[Question],
    retrieved: Sequence[Retrieved],
    max_new_tokens: int,
    settings: Settings,
    desc: str,
) -> float:
    """Percent of withheld-answer questions the system declines to answer."""
    sample = [(q, r) for q, r in zip(questions, retrieved, strict=True) if r.withheld is not None]
    declined = 0
    for question, found in tqdm(sample, desc=desc, unit="question"):
        answer = with_retrieval(
            specialist, question, found.withheld or [], 0.0, max_new_tokens, settings
        )
        declined += answer.abstained
    return percent(declined, len(sample))


def percent(count: float, total: int) -> float:
    """``count`` of ``total`` in percent, two decimals (0 for an empty total)."""
    return round(100 * count / total, 2) if total else 0.0


def summarize_answers(answers: Sequence[Answer]) -> dict[str, float]:
    """Quality and cost of one system over all questions."""
    total = len(answers)
    seconds = np.array([a.seconds for a in answers])
    generate_seconds = sum(a.generate_seconds for a in answers)
    tokens = sum(a.tokens for a in answers)
    scores = {
        "contains_gold": percent(sum(a.contains_gold for a in answers), total),
        "token_f1": percent(sum(a.f1 for a in answers), total),
        "abstained": percent(sum(a.abstained for a in answers), total),
        "latency_p50_s": round(float(np.percentile(seconds, 50)), 3),
        "latency_p95_s": round(float(np.percentile(seconds, 95)), 3),
        "tokens_per_s": round(tokens / generate_seconds, 2) if generate_seconds else 0.0,
        "mean_tokens": round(tokens / total, 1),
    }
    cited = [a.citation_correct for a in answers if a.citation_correct is not None]
    if cited:
        scores["citation_correct"] = percent(sum(cited), len(cited))
    return scores


def gold_retrieved(questions: Sequence[Question], retrieved: Sequence[Retrieved]) -> float:
    """Percent of questions whose top-k hits hold a gold answer span: the ceiling for RAG."""
    found = sum(
        any(contains_answer(h.text, q.answers) for h in r.hits)
        for q, r in zip(questions, retrieved, strict=True)
    )
    return percent(found, len(questions))

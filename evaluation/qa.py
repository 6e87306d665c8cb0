"""Grounded QA on held-out questions: the same questions answered by each system of the report.

Retrieval runs over every article of the SQuAD file (training articles included, as distractors,
exactly like the served corpus), but only questions of held-out articles are asked. Retrieval
results are computed once per question and shared by both models, so the two "+ retrieval" systems
see identical passages. A sample of questions is asked a second time with every passage that holds
the answer withheld: the right reply then is the template's "the documents do not say".
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from engine.answering import (
    MARKER,
    AnswerPolicy,
    Grounded,
    Numbered,
    cited_numbers,
    grounded_answer,
    sentence_answer,
)
from engine.extract import best_matching_sentence
from engine.loader import Specialist
from retrieval.search import Hit, HybridIndex
from specialist.prompt import NO_ANSWER, closed_book_request, render
from specialist.text import holds_answer
from training.evaluate import is_abstention, normalize_answer, token_f1
from training.raft import Question
from training.reader import withheld_hits

WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Retrieved:
    """What retrieval gave one question: the normal hits and the hits with the answer withheld."""

    hits: list[Hit]
    withheld: list[Hit] | None
    seconds: float


@dataclass(frozen=True)
class Answer:
    """One system's answer to one question, scored.

    ``gold_shown`` says whether a gold span was in what the system was given to read: False for a
    wrong answer means it was never shown, True means it was shown but not used.
    """

    text: str
    tokens: int
    seconds: float
    generate_seconds: float
    contains_gold: bool
    f1: float
    abstained: bool
    citation_correct: bool | None
    gold_shown: bool | None = None


Read = Callable[[Question, Sequence[Hit], float], Answer]
"""A system: answers a question from hits retrieved in the given seconds."""


def retrieve_all(
    index: HybridIndex, questions: Sequence[Question], top_k: int, withheld: int
) -> list[Retrieved]:
    """Hits for every question; for the first ``withheld`` ones also hits without the answer."""
    results = []
    for number, question in enumerate(tqdm(questions, desc="retrieve", unit="question")):
        begin = time.perf_counter()
        hits = index.search(question.question, k=top_k)
        seconds = time.perf_counter() - begin
        without = withheld_hits(index, question, top_k) if number < withheld else None
        results.append(Retrieved(hits, without, seconds))
    return results


def score_answer(
    text: str,
    question: Question,
    passages: Sequence[Numbered] | None,
    tokens: int,
    seconds: float,
    generate_seconds: float,
    shown: Sequence[str] | None = None,
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
            n in by_n and holds_answer(by_n[n], question.answers) for n in cited
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
        gold_shown=None if shown is None else any(holds_answer(t, question.answers) for t in shown),
    )


def scored(answer: Callable[[str, Sequence[Hit]], Grounded]) -> Read:
    """A system from a function answering a question from hits: timed and scored."""

    def read(question: Question, hits: Sequence[Hit], retrieve_seconds: float) -> Answer:
        begin = time.perf_counter()
        result = answer(question.question, hits)
        seconds = time.perf_counter() - begin
        return score_answer(
            result.answer,
            question,
            result.passages,
            result.tokens,
            retrieve_seconds + seconds,
            seconds,
            result.shown,
        )

    return read


def with_retrieval(
    specialist: Specialist,
    index: HybridIndex,
    policy: AnswerPolicy,
    max_new_tokens: int,
) -> Read:
    """A system answering through the product's pipeline with ``policy``'s reader."""
    return scored(
        lambda question, hits: grounded_answer(
            specialist, index, question, hits, max_new_tokens, policy
        )
    )


def extractive(passage_words: int) -> Read:
    """The reference row: the sentence sharing most terms with the question, copied and cited."""

    def answer(question: str, hits: Sequence[Hit]) -> Grounded:
        chosen = best_matching_sentence(question, hits)
        if chosen is None:
            return Grounded(NO_ANSWER, [], 0, [])
        return sentence_answer(question, hits, chosen, passage_words)

    return scored(answer)


def closed_book(specialist: Specialist, max_new_tokens: int) -> Read:
    """A system answering from the model's weights alone (the hits are ignored)."""

    def read(question: Question, _hits: Sequence[Hit], _retrieve_seconds: float) -> Answer:
        prompt = render(specialist.tokenizer, closed_book_request(question.question))
        begin = time.perf_counter()
        pieces = list(specialist.stream(prompt, max_new_tokens))
        seconds = time.perf_counter() - begin
        return score_answer("".join(pieces).strip(), question, None, len(pieces), seconds, seconds)

    return read


def answer_all(
    questions: Sequence[Question], retrieved: Sequence[Retrieved], read: Read, desc: str
) -> list[Answer]:
    """Every question answered by one system from its retrieved hits."""
    return [
        read(question, found.hits, found.seconds)
        for question, found in zip(
            tqdm(questions, desc=desc, unit="question"), retrieved, strict=True
        )
    ]


def withheld_abstention(
    questions: Sequence[Question], retrieved: Sequence[Retrieved], read: Read, desc: str
) -> float:
    """Percent of withheld-answer questions the system declines to answer."""
    sample = [(q, r) for q, r in zip(questions, retrieved, strict=True) if r.withheld is not None]
    declined = 0
    for question, found in tqdm(sample, desc=desc, unit="question"):
        declined += read(question, found.withheld or [], 0.0).abstained
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
        "mean_words": round(
            sum(len(WORD.findall(MARKER.sub(" ", a.text))) for a in answers) / total, 1
        ),
    }
    cited = [a.citation_correct for a in answers if a.citation_correct is not None]
    if cited:
        scores["citation_correct"] = percent(sum(cited), len(cited))
    shown = [a for a in answers if a.gold_shown is not None]
    if shown:
        scores["gold_shown"] = percent(sum(a.gold_shown for a in shown), len(shown))
        scores["lost_not_shown"] = percent(
            sum(not a.contains_gold and not a.gold_shown for a in shown), len(shown)
        )
        scores["lost_shown_not_used"] = percent(
            sum(not a.contains_gold and a.gold_shown for a in shown), len(shown)
        )
    return scores


def gold_retrieved(questions: Sequence[Question], retrieved: Sequence[Retrieved]) -> float:
    """Percent of questions whose top-k hits hold a gold answer span: the ceiling for RAG."""
    found = sum(
        any(holds_answer(h.text, q.answers) for h in r.hits)
        for q, r in zip(questions, retrieved, strict=True)
    )
    return percent(found, len(questions))

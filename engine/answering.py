"""From a question to a grounded, cited answer: retrieve, then read, then cite.

Two readers share everything else. The default, ``extract``, answers with the retrieved sentence
the fitted scorer of :mod:`engine.extract` finds most likely to hold the answer, or declines;
``generate`` gates on relevance, budgets and focuses the passages, and has the specialist write
the answer.

The HTTP routes and ``specialist ask --local`` both call :func:`answer_question`, and
``specialist eval all`` calls :func:`grounded_answer` on hits it retrieved itself, so what is
evaluated is what users get. Tokens are reported through a callback so the caller decides
whether they become server-sent events, console output or nothing.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING

from engine.extract import (
    SHIPPED_WEIGHTS,
    Candidate,
    ReaderWeights,
    extract,
    one_line,
    sentence_vectors,
)
from engine.focus import focus
from engine.judge import question_log_probability
from engine.schemas import AskResponse, Citation, SummaryResponse, Timings
from engine.threads import fit_threads
from specialist.prompt import NO_ANSWER, PromptPassage, Turn, rag_request, render
from specialist.text import sentences

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from engine.loader import Specialist
    from engine.snapshot import Engine
    from retrieval.search import Hit, HybridIndex
    from specialist.settings import Settings

MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
MIN_PASSAGE_TOKENS = 32
SNIPPET_CHARS = 280


@dataclass(frozen=True)
class Question:
    """A validated question as the pipeline needs it."""

    text: str
    top_k: int
    max_new_tokens: int
    source_prefix: str | None = None
    history: tuple[Turn, ...] = ()
    """Earlier turns of a conversation; ``text`` is then the standalone question built from them."""


@dataclass(frozen=True)
class AnswerPolicy:
    """How hits become an answer, from settings: the reader, relevance floor, passage length, budget."""

    min_relevance: float
    passage_words: int
    prompt_budget: int
    reader: ReaderWeights | None = None
    """The extractive reader's weights; None has the specialist generate the answer."""

    @classmethod
    def from_settings(cls, settings: Settings) -> AnswerPolicy:
        """The policy from settings, the same for every caller."""
        reader = None
        if settings.reader == "extract":
            reader = reader_weights(settings.reader_weights or SHIPPED_WEIGHTS)
        return cls(
            settings.min_relevance, settings.passage_words, settings.prompt_token_budget, reader
        )


@cache
def reader_weights(path: Path) -> ReaderWeights:
    """The reader's weights, read once per process."""
    return ReaderWeights.load(path)


@dataclass(frozen=True)
class Numbered:
    """A passage as placed in the prompt (possibly shortened) with the hit it came from."""

    n: int
    hit: Hit
    text: str


def covered(hits: Sequence[Hit], min_relevance: float) -> bool:
    """Whether retrieval found anything worth showing the model.

    Fused scores are rank-based and always look confident, so the gate uses the dense cosine
    similarity of the best hit: below the floor the documents are treated as silent on the topic
    and the model is not asked to improvise from junk.
    """
    scores = [hit.dense_score for hit in hits if hit.dense_score is not None]
    return bool(scores) and max(scores) >= min_relevance


def fit_passages(
    hits: Sequence[Hit],
    tokenizer: PreTrainedTokenizerBase,
    budget: int,
    question: str = "",
    passage_words: int = 0,
) -> list[Numbered]:
    """Number hits in rank order, each focused on ``question``, the tail cut to ``budget`` tokens.

    Prefill time grows with prompt length, so on a CPU the budget bounds time-to-first-token.
    A passage that no longer fits whole is shortened when a useful part still fits.
    """
    passages: list[Numbered] = []
    left = budget
    for hit in hits:
        focused = focus(hit.text, question, passage_words)
        ids = tokenizer(focused, add_special_tokens=False).input_ids
        if len(ids) <= left:
            text = focused
        elif left >= MIN_PASSAGE_TOKENS or not passages:
            text = tokenizer.decode(ids[: max(left, MIN_PASSAGE_TOKENS)]).rstrip() + " …"
        else:
            break
        passages.append(Numbered(len(passages) + 1, hit, text))
        left -= min(len(ids), left)
        if left <= 0:
            break
    return passages


def fit_history(
    tokenizer: PreTrainedTokenizerBase, history: Sequence[Turn], budget: int
) -> list[Turn]:
    """The latest whole turns of ``history`` whose tokens fit in ``budget``, oldest first.

    The history shares the prompt's token budget with the passages and gets what they leave: the
    passages hold the answer, the history only what a follow-up refers to. A kept history starts
    with a question, never with an answer whose question was cut.
    """
    kept: list[Turn] = []
    left = budget
    for turn in reversed(history):
        left -= len(tokenizer(turn.content, add_special_tokens=False).input_ids)
        if left < 0:
            break
        kept.insert(0, turn)
    while kept and kept[0].role != "user":
        kept.pop(0)
    return kept


def passages_request(question: str, passages: Sequence[Numbered]) -> str:
    """The user turn of the shared template: the numbered passages, then the question."""
    return rag_request(
        question,
        [PromptPassage(p.n, p.text, p.hit.title, p.hit.heading) for p in passages],
    )


def build_prompt(
    tokenizer: PreTrainedTokenizerBase,
    question: str,
    passages: Sequence[Numbered],
    history: Sequence[Turn] = (),
) -> str:
    """The shared prompt template filled with the numbered passages, after the ``history``."""
    return render(tokenizer, passages_request(question, passages), history)


def cited_numbers(answer: str) -> list[int]:
    """The passage numbers an answer cites, in order of first use (``[2]``, ``[1, 3]``)."""
    seen: list[int] = []
    for match in MARKER.finditer(answer):
        for part in match.group(1).split(","):
            n = int(part)
            if n not in seen:
                seen.append(n)
    return seen


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """The start of a passage, cut at a word boundary."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"


def citations_for(answer: str, passages: Sequence[Numbered]) -> list[Citation]:
    """Exactly the passages the answer cites; markers that point at no passage are dropped."""
    by_n = {p.n: p for p in passages}
    return [
        Citation(
            n=n,
            source=by_n[n].hit.source,
            title=by_n[n].hit.title,
            heading=by_n[n].hit.heading,
            snippet=snippet(by_n[n].text),
            score=round(float(by_n[n].hit.score), 4),
        )
        for n in cited_numbers(answer)
        if n in by_n
    ]


@dataclass
class Outcome:
    """The finished answer (or summary, :mod:`engine.summaries`) plus what metrics need."""

    response: AskResponse | SummaryResponse
    tokens: int


@dataclass(frozen=True)
class Grounded:
    """An answer written from retrieved hits, with the numbered passages its markers refer to.

    ``shown`` is every text the reader was given (the whole chunks for the extractive reader, the
    focused passages in the prompt for the generating one): evaluation checks whether the gold
    answer was in it, to tell "not shown" from "shown but not used".
    """

    answer: str
    passages: list[Numbered]
    tokens: int
    shown: list[str] = field(default_factory=list)


def emit(text: str, on_token: Callable[[str], None] | None) -> list[str]:
    """Report a finished answer word by word, as a stream of tokens would arrive."""
    pieces = re.findall(r"\S+\s*", text)
    if on_token is not None:
        for piece in pieces:
            on_token(piece)
    return pieces


def quoted_window(text: str, chosen: Candidate, words: int) -> str:
    """The chosen sentence and those after it, about ``words`` words (0: to the end of ``text``).

    The cited passage starts with the quote, so its snippet shows what the answer quoted first.
    """
    parts: list[str] = []
    count = 0
    for start, end in sentences(text)[chosen.index :]:
        if parts and 0 < words <= count:
            break
        part = text[start:end].strip()
        parts.append(part)
        count += len(part.split())
    return " ".join(parts)


def sentence_answer(
    question: str, hits: Sequence[Hit], chosen: Candidate, passage_words: int
) -> Grounded:
    """``chosen`` (a sentence of one of ``hits``) as the answer, cited by its hit's number.

    Hits are numbered in rank order; the cited one shows the quoted sentence and what follows it,
    the others their focused window. The quote's line breaks and runs of spaces become single
    spaces: a sentence of a hard-wrapped document is one sentence, not lines.
    """
    passages = []
    for rank, hit in enumerate(hits):
        text = focus(hit.text, question, passage_words)
        if rank == chosen.rank:
            text = quoted_window(hit.text, chosen, passage_words)
        passages.append(Numbered(rank + 1, hit, text))
    answer = f"{one_line(chosen.text)} [{chosen.rank + 1}]"
    return Grounded(answer, passages, len(emit(answer, None)), [h.text for h in hits])


def extracted_answer(
    specialist: Specialist,
    index: HybridIndex,
    question: str,
    hits: Sequence[Hit],
    policy: AnswerPolicy,
    on_token: Callable[[str], None] | None = None,
) -> Grounded:
    """The extractive reader's answer: the best sentence of ``hits``, cited, or a decline.

    The specialist judges the scorer's shortlist when the reader's weights use its judgement.
    """
    assert policy.reader is not None, "only called with reader weights"
    chosen = extract(
        question,
        hits,
        policy.reader,
        sentence_vectors(index).of,
        index.idf,
        partial(question_log_probability, specialist),
    )
    if not chosen.answered or chosen.candidate is None:
        emit(NO_ANSWER, on_token)
        return Grounded(NO_ANSWER, [], 0, [h.text for h in hits])
    grounded = sentence_answer(question, hits, chosen.candidate, policy.passage_words)
    emit(grounded.answer, on_token)
    return grounded


def grounded_answer(
    specialist: Specialist,
    index: HybridIndex,
    question: str,
    hits: Sequence[Hit],
    max_new_tokens: int,
    policy: AnswerPolicy,
    *,
    on_token: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
    history: Sequence[Turn] = (),
) -> Grounded:
    """The product's answer to ``question`` from ``hits`` (``index`` is where they came from).

    Shared by ``/ask`` and ``specialist eval all`` so the evaluation scores exactly what users get.
    The generating reader's prompt also carries as much of a conversation's ``history`` as the
    passages leave of the token budget.
    """
    if policy.reader is not None:
        return extracted_answer(specialist, index, question, hits, policy, on_token)
    if not covered(hits, policy.min_relevance):
        if on_token is not None:
            on_token(NO_ANSWER)
        return Grounded(NO_ANSWER, [], 0)
    passages = fit_passages(
        hits, specialist.tokenizer, policy.prompt_budget, question, policy.passage_words
    )
    spent = sum(
        len(specialist.tokenizer(p.text, add_special_tokens=False).input_ids) for p in passages
    )
    earlier = fit_history(specialist.tokenizer, history, policy.prompt_budget - spent)
    prompt = build_prompt(specialist.tokenizer, question, passages, earlier)
    pieces: list[str] = []
    fit_threads()  # other answers may have started or finished during retrieval
    for piece in specialist.stream(prompt, max_new_tokens, stop):
        pieces.append(piece)
        if on_token is not None:
            on_token(piece)
        fit_threads()  # before the next token: other answers may have started or finished
    return Grounded("".join(pieces).strip(), passages, len(pieces), [p.text for p in passages])


def answer_question(
    engine: Engine,
    question: Question,
    policy: AnswerPolicy,
    *,
    on_token: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
    started: float | None = None,
) -> Outcome:
    """Answer ``question`` with ``engine`` (one consistent index + specialist pair).

    ``started`` is when the request arrived, so ``total`` includes time spent queued.
    """
    started = time.perf_counter() if started is None else started
    begin = time.perf_counter()
    hits = engine.index.search(
        question.text, k=question.top_k, source_prefix=question.source_prefix
    )
    retrieved = time.perf_counter()
    specialist = engine.specialist
    result = grounded_answer(
        specialist,
        engine.index,
        question.text,
        hits,
        question.max_new_tokens,
        policy,
        on_token=on_token,
        stop=stop,
        history=question.history,
    )
    finished = time.perf_counter()
    response = AskResponse(
        answer=result.answer,
        citations=citations_for(result.answer, result.passages),
        index_version=engine.index.version,
        adapter_version=specialist.adapter_version,
        base_model=specialist.base_model,
        timings_ms=Timings(
            retrieve=round((retrieved - begin) * 1000, 1),
            generate=round((finished - retrieved) * 1000, 1),
            total=round((finished - started) * 1000, 1),
        ),
    )
    return Outcome(response, result.tokens)

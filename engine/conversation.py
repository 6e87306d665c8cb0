"""Follow-up questions: the standalone question a conversation's last message asks.

"And when did it end?" retrieves nothing useful on its own: the topic it refers to is in earlier
turns. Rather than have the 135M-parameter specialist rewrite the follow-up (a rewrite costs a
generation per question and was not measured), the standalone question is built by rule: the
follow-up keeps its own words (its question word decides what kind of answer the reader looks
for) and gains the rarest terms of the earlier questions, the topic it leaves out. ``specialist eval followups`` measures this against the last message alone and
against the whole history concatenated (README, "OpenAI-compatible API").

The reader gets the standalone question for retrieval and reading; the generating reader's prompt
also carries the earlier turns themselves (:func:`engine.answering.fit_history`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from engine.answering import MARKER, Question
from retrieval.artifacts import bm25_tokens
from specialist.prompt import Turn

Idf = Callable[[list[str]], list[float]]
"""Inverse document frequency of stemmed terms in the index searched (``HybridIndex.idf``)."""
Condense = Callable[[Sequence[Turn], str, Idf], str]
"""A way to turn (earlier turns, last message) into the question retrieval and the reader get."""

CARRIED_TERMS = 6
"""Most terms carried into a follow-up: a topic is a few words; more drown the follow-up's own."""
WORD = re.compile(r"\w[\w'’&.-]*\w|\w")


def salient_terms(text: str, idf: Idf, leave_out: set[str], limit: int) -> list[str]:
    """The ``limit`` rarest words of ``text`` in their written form, in the order they appear.

    Stop words and words whose stem is in ``leave_out`` are skipped, and each stem counts once:
    the follow-up already holds those terms, and a repeated term adds nothing to a search.
    """
    words = WORD.findall(MARKER.sub(" ", text))
    scored: dict[str, tuple[float, int, str]] = {}
    for position, (word, stems) in enumerate(zip(words, bm25_tokens(words), strict=True)):
        if not stems or stems[0] in leave_out or stems[0] in scored:
            continue
        scored[stems[0]] = (idf(stems[:1])[0], position, word)
    rarest = sorted(scored.values(), key=lambda item: (-item[0], item[1]))[:limit]
    return [word for _, _, word in sorted(rarest, key=lambda item: item[1])]


def carry_topic(history: Sequence[Turn], message: str, idf: Idf) -> str:
    """The follow-up, then the rarest terms of the earlier questions that it does not hold.

    The earlier questions name the topic ("the Federal Energy Office"). The earlier answers are
    left out: their rare words are those of the sentence already quoted, and carrying them had the
    reader quote that sentence again (measured on the follow-up set: 47.5% contains-gold with the
    latest answer's terms carried too, 60.0% without).
    """
    asked = " ".join(turn.content for turn in history if turn.role == "user")
    held = {stems[0] for stems in bm25_tokens(WORD.findall(message)) if stems}
    return " ".join([message.strip(), *salient_terms(asked, idf, held, CARRIED_TERMS)])


def last_message(_history: Sequence[Turn], message: str, _idf: Idf) -> str:
    """The follow-up as typed: what a stateless ``/ask`` would search for."""
    return message.strip()


def whole_history(history: Sequence[Turn], message: str, _idf: Idf) -> str:
    """Every earlier turn and the follow-up, concatenated."""
    return " ".join([*(MARKER.sub(" ", turn.content).strip() for turn in history), message.strip()])


CONDENSERS: dict[str, Condense] = {
    "carry-topic": carry_topic,
    "last-message": last_message,
    "whole-history": whole_history,
}
"""The ways compared by ``specialist eval followups``; the service uses :data:`SERVED`."""
SERVED = "carry-topic"


def conversation_question(
    history: Sequence[Turn],
    message: str,
    idf: Idf,
    top_k: int,
    max_new_tokens: int,
    condense: Condense = CONDENSERS[SERVED],
) -> Question:
    """The pipeline's question for ``message`` after ``history``: standalone text, history kept."""
    text = condense(history, message, idf) if history else message.strip()
    return Question(text=text, top_k=top_k, max_new_tokens=max_new_tokens, history=tuple(history))

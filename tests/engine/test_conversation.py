"""Follow-ups: the standalone question carries the earlier questions' topic; the generating
reader's prompt carries as many earlier turns as the token budget leaves."""

from __future__ import annotations

from engine.answering import fit_history
from engine.conversation import (
    CARRIED_TERMS,
    CONDENSERS,
    SERVED,
    carry_topic,
    conversation_question,
    last_message,
    salient_terms,
    whole_history,
)
from specialist.prompt import Turn, render

COMMON = {"who", "first", "when", "name", "nixon", "organ", "creat"}
"""Stems this toy corpus holds in many chunks (low idf)."""


def idf(terms: list[str]) -> list[float]:
    """A corpus where the common stems above are frequent and every other term is rare."""
    return [0.5 if term in COMMON else 3.0 for term in terms]


HISTORY = [
    Turn("user", "Who was the first administrator of the Federal Energy Office?"),
    Turn("assistant", "In 1973, Nixon named William E. Simon as the first Administrator [1]"),
]


def test_the_follow_up_keeps_its_words_and_gains_the_topic_of_earlier_questions() -> None:
    standalone = carry_topic(HISTORY, "  When was he named by Nixon? ", idf)
    assert standalone.startswith("When was he named by Nixon? ")
    carried = standalone.removeprefix("When was he named by Nixon? ").split()
    assert carried == ["Who", "first", "administrator", "Federal", "Energy", "Office"]
    assert "Simon" not in standalone, "the earlier answer's words are not carried"


def test_salient_terms_are_the_rarest_new_ones_in_text_order() -> None:
    text = "Who was the first administrator of the Federal Energy Office? [2] Energy again"
    assert salient_terms(text, idf, {"feder"}, 2) == ["administrator", "Energy"]
    many = " ".join(f"term{i}" for i in range(20))
    assert len(salient_terms(many, idf, set(), CARRIED_TERMS)) == CARRIED_TERMS


def test_the_compared_methods() -> None:
    assert set(CONDENSERS) == {"carry-topic", "last-message", "whole-history"}
    assert CONDENSERS[SERVED] is carry_topic
    assert last_message(HISTORY, " When? ", idf) == "When?"
    assert whole_history(HISTORY, "When?", idf) == (
        "Who was the first administrator of the Federal Energy Office? "
        "In 1973, Nixon named William E. Simon as the first Administrator When?"
    )


def test_the_pipeline_question_keeps_the_history_and_a_first_question_as_typed() -> None:
    first = conversation_question([], " Who was it? ", idf, top_k=4, max_new_tokens=32)
    assert first.text == "Who was it?" and first.history == ()
    follow = conversation_question(HISTORY, "When?", idf, top_k=3, max_new_tokens=16)
    assert follow.text.startswith("When? ") and "Federal" in follow.text
    assert follow.history == tuple(HISTORY)
    assert (follow.top_k, follow.max_new_tokens) == (3, 16)


def test_history_fits_the_budget_latest_turns_first_starting_with_a_question(base_model) -> None:
    _, tokenizer = base_model
    turns = [
        Turn("user", "Where does the Rhine rise?"),
        Turn("assistant", "In the Swiss Alps. " * 20),
        Turn("user", "How long is it?"),
        Turn("assistant", "About 1,230 kilometres."),
    ]
    assert fit_history(tokenizer, turns, 10_000) == turns
    assert fit_history(tokenizer, turns, 20) == turns[2:]
    assert fit_history(tokenizer, turns, 0) == []
    tail = len(tokenizer("About 1,230 kilometres.", add_special_tokens=False).input_ids)
    assert fit_history(tokenizer, turns, tail) == [], "an answer without its question is dropped"


def test_the_prompt_shows_earlier_turns_before_the_request(base_model) -> None:
    _, tokenizer = base_model
    turns = [Turn("user", "Where does the Rhine rise?"), Turn("assistant", "In the Swiss Alps.")]
    prompt = render(tokenizer, "Passages: ... Question: How long is it?", turns)
    assert prompt.index("Where does the Rhine rise?") < prompt.index("In the Swiss Alps.")
    assert prompt.index("In the Swiss Alps.") < prompt.index("How long is it?")
    assert render(tokenizer, "Q") == render(tokenizer, "Q", [])

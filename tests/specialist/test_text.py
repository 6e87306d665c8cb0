"""Sentence cuts: the reader quotes one sentence, so a cut inside a name halves the answer."""

from specialist.text import sentences


def cut(text: str) -> list[str]:
    return [text[start:end] for start, end in sentences(text)]


def test_sentences_end_at_periods_question_and_exclamation_marks() -> None:
    assert cut("It rained. Did it stop? No! The river rose.") == [
        "It rained.",
        "Did it stop?",
        "No!",
        "The river rose.",
    ]


def test_initials_and_abbreviations_do_not_end_a_sentence() -> None:
    text = (
        "In 1973, Nixon named William E. Simon as the first administrator. "
        "Jean Ribault charted the St. Johns River in 1562. "
        "Dr. Constantine states it. The U.S. Army left."
    )
    assert cut(text) == [
        "In 1973, Nixon named William E. Simon as the first administrator.",
        "Jean Ribault charted the St. Johns River in 1562.",
        "Dr. Constantine states it.",
        "The U.S. Army left.",
    ]


def test_a_unit_letter_before_the_period_still_ends_the_sentence() -> None:
    assert cut("Temperatures are around 30 °C. This gives a limit.") == [
        "Temperatures are around 30 °C.",
        "This gives a limit.",
    ]

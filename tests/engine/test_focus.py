"""Passage focusing: the sentence window of a chunk that best matches the question."""

from __future__ import annotations

from engine.focus import focus

FILLER = " ".join(f"Sentence {n} talks about weather and crops in the valley." for n in range(12))
TEXT = f"{FILLER} The Panthers won Super Bowl 50 in the season of 2015. {FILLER}"


def test_window_holds_the_best_matching_sentence_and_is_short() -> None:
    window = focus(TEXT, "Who won Super Bowl 50?", 50)
    assert "The Panthers won Super Bowl 50" in window
    assert 50 <= len(window.split()) < 70
    assert window.endswith(".") and window[0].isupper()


def test_window_starts_one_sentence_before_the_match_like_training() -> None:
    window = focus(TEXT, "Who won Super Bowl 50?", 20)
    assert window.startswith("Sentence 11 talks")


def test_short_text_or_zero_words_keep_everything() -> None:
    assert focus(TEXT, "Super Bowl", 0) == TEXT.strip()
    assert focus("One short sentence.", "Super Bowl", 50) == "One short sentence."


def test_without_any_shared_term_the_window_starts_at_the_top() -> None:
    assert focus(TEXT, "zebra quantum", 20).startswith("Sentence 0 talks")

"""The reference rows and the scoring behind the published QA table, on a tiny fixture."""

from __future__ import annotations

from engine.answering import Numbered
from evaluation.qa import extractive, score_answer, summarize_answers
from retrieval.search import Hit
from training.raft import Paragraph, Question

TREATY = (
    "It was drafted over three years. The treaty was signed in Lisbon on 13 December 2007. "
    "It entered into force two years later."
)
RIVER = "The Rhine rises in the Swiss Alps. Barges carry coal between Rotterdam and the Ruhr."


def hit(text: str, chunk: str) -> Hit:
    return Hit(chunk, f"{chunk}.md", "Title", "", text, 0.03, 0.5, 1.0, 0, len(text))


def question(text: str, *answers: str) -> Question:
    return Question(text, Paragraph("000/000", "Title", TREATY), answers, 0)


def test_extractive_row_copies_and_cites_the_sentence_sharing_most_terms() -> None:
    asked = question("Where was the treaty signed?", "Lisbon")
    answer = extractive(50)(asked, [hit(RIVER, "river"), hit(TREATY, "treaty")], 0.01)
    assert answer.text == "The treaty was signed in Lisbon on 13 December 2007. [2]"
    assert answer.contains_gold and answer.citation_correct and answer.gold_shown
    assert not answer.abstained


def test_gold_never_shown_is_told_apart_from_gold_shown_but_missed() -> None:
    asked = question("Where was the treaty signed?", "Lisbon")
    missed = extractive(50)(asked, [hit(RIVER, "river")], 0.01)
    assert not missed.contains_gold and missed.gold_shown is False
    misread = score_answer("It entered into force. [1]", asked, [], 5, 0.1, 0.1, [TREATY])
    assert not misread.contains_gold and misread.gold_shown is True
    scores = summarize_answers([missed, misread])
    assert scores["gold_shown"] == 50.0
    assert scores["lost_not_shown"] == 50.0 and scores["lost_shown_not_used"] == 50.0


def test_scores_of_one_answer() -> None:
    asked = question("Where was the treaty signed?", "Lisbon", "in Lisbon")
    passages = [Numbered(1, hit(TREATY, "t"), TREATY), Numbered(2, hit(RIVER, "r"), RIVER)]
    right = score_answer("Signed in Lisbon [1].", asked, passages, 4, 0.2, 0.1)
    assert right.contains_gold and right.citation_correct and right.f1 > 0.5
    wrong_cite = score_answer("Signed in Lisbon [2].", asked, passages, 4, 0.2, 0.1)
    assert wrong_cite.contains_gold and not wrong_cite.citation_correct
    declined = score_answer("The documents do not say.", asked, passages, 6, 0.2, 0.1)
    assert declined.abstained and not declined.contains_gold and not declined.citation_correct
    closed = score_answer("Lisbon.", asked, None, 2, 0.2, 0.1)
    assert closed.citation_correct is None and closed.gold_shown is None
    scores = summarize_answers([right, wrong_cite, declined])
    assert scores["contains_gold"] == 66.67 and scores["citation_correct"] == 33.33
    assert scores["abstained"] == 33.33 and scores["mean_words"] == 3.7

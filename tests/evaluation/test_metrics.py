"""Every metric behind the published tables, on inputs small enough to score by hand.

The README's QA table (contains gold, token F1, citation correct, abstention when the answer is
withheld), its ROUGE table and its retrieval table (nDCG@10, Recall@10/100, MRR@10) are only as
trustworthy as these functions; each expected value below was worked out on paper, so a changed
definition fails here before it quietly changes a published number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from engine.answering import Numbered
from evaluation.qa import (
    Answer,
    Retrieved,
    gold_retrieved,
    percent,
    score_answer,
    summarize_answers,
    withheld_abstention,
)
from retrieval.metrics import dedupe, mrr_at, ndcg_at, recall_at, score_run
from retrieval.search import Hit
from specialist.prompt import NO_ANSWER
from specialist.text import holds_answer
from training.evaluate import is_abstention, normalize_answer, rouge_scores, token_f1
from training.raft import Paragraph, Question

TREATY = "The treaty was signed in Lisbon on 13 December 2007."
RIVER = "The Rhine rises in the Swiss Alps."


def hit(text: str) -> Hit:
    """A retrieved chunk holding ``text`` (only the text matters to the metrics)."""
    return Hit("c", "doc.md", "Title", "", text, 0.5, 0.5, 1.0, 0, len(text))


def question(*answers: str) -> Question:
    """A question whose accepted gold spans are ``answers``."""
    return Question("Where?", Paragraph("000/000", "Title", TREATY), answers, 0)


def passages(*texts: str) -> list[Numbered]:
    """Passages numbered 1, 2, ... as the answer's ``[n]`` markers refer to them."""
    return [Numbered(n, hit(text), text) for n, text in enumerate(texts, 1)]


def scored(text: str, answers: Sequence[str], shown: Sequence[Numbered] | None = None) -> Answer:
    """``text`` scored against ``answers``; timings and token counts do not enter any metric."""
    return score_answer(text, question(*answers), shown, 1, 0.1, 0.1)


# --- contains gold -------------------------------------------------------------------------


def test_normalize_answer_drops_case_punctuation_articles_and_extra_spaces() -> None:
    assert normalize_answer("  The Eiffel-Tower,  an ICON! ") == "eiffeltower icon"
    assert normalize_answer("A theory of the anthem") == "theory of anthem"
    assert normalize_answer("") == ""
    assert normalize_answer("the a an") == ""


def test_contains_gold_compares_normalized_text() -> None:
    assert scored("It rises in the swiss alps.", ["Swiss Alps"]).contains_gold
    assert scored("About 1230 km long.", ["1,230"]).contains_gold
    assert not scored("It rises in Austria.", ["Swiss Alps"]).contains_gold


def test_contains_gold_is_true_when_any_accepted_answer_is_there() -> None:
    assert scored("Signed in Lisbon.", ["Portugal", "Lisbon"]).contains_gold


def test_a_citation_marker_is_not_an_answer() -> None:
    """``[2]`` is removed before scoring, so it cannot match a gold answer "2"."""
    answer = scored("Signed in Lisbon [2].", ["2"], passages(RIVER, TREATY))
    assert not answer.contains_gold
    assert answer.f1 == 0.0


def test_empty_answers_and_empty_gold_never_count() -> None:
    """An empty gold span is contained in every text; it must not make an answer right."""
    assert not scored("Anything at all.", ["", "  "]).contains_gold
    assert not scored("", ["Lisbon"]).contains_gold
    assert scored("", ["Lisbon"]).f1 == 0.0


# --- token F1 ------------------------------------------------------------------------------


def test_token_f1_by_hand() -> None:
    # "cat sat on mat" against "cat on mat": 3 shared tokens, P = 3/4, R = 3/3, F1 = 6/7.
    assert token_f1("the cat sat on the mat", "a cat on a mat") == pytest.approx(6 / 7)
    # A repeated token is shared only as often as the gold holds it: P = 1/2, R = 1, F1 = 2/3.
    assert token_f1("Paris Paris", "paris") == pytest.approx(2 / 3)
    assert token_f1("Lisbon.", "lisbon") == 1.0
    assert token_f1("Madrid", "Lisbon") == 0.0


def test_token_f1_of_empty_text_is_zero_not_an_error() -> None:
    assert token_f1("", "Lisbon") == 0.0
    assert token_f1("Lisbon", "") == 0.0
    assert token_f1("the", "a") == 0.0


def test_answer_f1_is_the_best_over_accepted_answers() -> None:
    # Against "Lisbon": P = 1/3, R = 1, F1 = 1/2; against "in Lisbon": P = 2/3, R = 1, F1 = 4/5.
    assert scored("signed in Lisbon", ["Lisbon", "in Lisbon"]).f1 == pytest.approx(4 / 5)


# --- citation correct ----------------------------------------------------------------------


def test_holds_answer_is_a_case_insensitive_span_match() -> None:
    assert holds_answer(TREATY, ["LISBON"])
    assert not holds_answer(TREATY, ["Madrid"])
    assert not holds_answer(TREATY, ["", " "])


def test_citation_is_correct_only_when_every_cited_passage_holds_the_gold() -> None:
    shown = passages(TREATY, RIVER, "Lisbon is the capital of Portugal.")
    assert scored("Signed in Lisbon [1].", ["Lisbon"], shown).citation_correct is True
    assert scored("Signed in Lisbon [1][3].", ["Lisbon"], shown).citation_correct is True
    assert scored("Signed in Lisbon [1, 3].", ["Lisbon"], shown).citation_correct is True
    assert scored("Signed in Lisbon [2].", ["Lisbon"], shown).citation_correct is False
    assert scored("Signed in Lisbon [1][2].", ["Lisbon"], shown).citation_correct is False


def test_no_citation_or_a_passage_that_does_not_exist_is_wrong() -> None:
    shown = passages(TREATY)
    assert scored("Signed in Lisbon.", ["Lisbon"], shown).citation_correct is False
    assert scored("Signed in Lisbon [4].", ["Lisbon"], shown).citation_correct is False
    assert scored(NO_ANSWER, ["Lisbon"], shown).citation_correct is False
    assert scored("Signed in Lisbon [1].", ["Lisbon"], []).citation_correct is False


def test_closed_book_answers_have_no_citation_score() -> None:
    assert scored("Lisbon [1].", ["Lisbon"], None).citation_correct is None


def test_citation_percent_counts_only_answers_that_had_passages() -> None:
    shown = passages(TREATY)
    answers = [
        scored("Lisbon [1].", ["Lisbon"], shown),
        scored("Lisbon.", ["Lisbon"], shown),
        scored("Lisbon [1].", ["Lisbon"], None),
    ]
    assert summarize_answers(answers)["citation_correct"] == 50.0
    assert "citation_correct" not in summarize_answers(answers[2:])


# --- abstention ----------------------------------------------------------------------------


def test_is_abstention_recognises_the_template_sentence() -> None:
    assert is_abstention(NO_ANSWER)
    assert is_abstention("the documents do NOT say [1]")
    assert not is_abstention("The document does not say.")
    assert not is_abstention("Lisbon.")
    assert not is_abstention("")


def test_withheld_abstention_asks_only_the_withheld_sample_with_the_withheld_hits() -> None:
    """Three questions, two asked again without the answer: one of those two is declined.

    The stub reader declines exactly when its hits lack the gold, so reading the normal hits (which
    never hold it) would give 100%, and counting the third question would change the share.
    """
    questions = [question("Lisbon"), question("Alps"), question("Rhine")]
    normal = [hit("Unrelated text.")]
    retrieved = [
        Retrieved(normal, [hit("Nothing relevant here.")], 0.1),
        Retrieved(normal, [hit(RIVER)], 0.1),
        Retrieved(normal, None, 0.1),
    ]
    asked: list[list[str]] = []

    def read(asked_question: Question, hits: Sequence[Hit], _seconds: float) -> Answer:
        asked.append([h.text for h in hits])
        declined = not any(holds_answer(h.text, asked_question.answers) for h in hits)
        return scored(NO_ANSWER if declined else hits[0].text, asked_question.answers)

    assert withheld_abstention(questions, retrieved, read, "withheld") == 50.0
    assert asked == [["Nothing relevant here."], [RIVER]]


def test_withheld_abstention_without_a_sample_is_zero() -> None:
    def read(_question: Question, _hits: Sequence[Hit], _seconds: float) -> Answer:
        raise AssertionError("no question has withheld hits, so none may be asked")

    retrieved = [Retrieved([hit(TREATY)], None, 0.1)]
    assert withheld_abstention([question("Lisbon")], retrieved, read, "withheld") == 0.0


def test_percent_rounds_to_two_decimals_and_survives_an_empty_total() -> None:
    assert percent(1, 3) == 33.33
    assert percent(2, 3) == 66.67
    assert percent(3, 3) == 100.0
    assert percent(0, 0) == 0.0


def test_gold_retrieved_is_the_share_of_questions_with_the_gold_in_the_hits() -> None:
    """The oracle row: the gold span is in some hit for 1 of 2 questions."""
    questions = [question("Lisbon"), question("Madrid")]
    retrieved = [Retrieved([hit(RIVER), hit(TREATY)], None, 0.1)] * 2
    assert gold_retrieved(questions, retrieved) == 50.0


# --- ROUGE ---------------------------------------------------------------------------------


def test_rouge_by_hand() -> None:
    """ "the cat sat on the mat" against "the cat lay on the mat".

    ROUGE-1: 5 of 6 unigrams shared each way, F = 5/6. ROUGE-2: bigrams the-cat, on-the and
    the-mat shared of 5 each way, F = 3/5. ROUGE-L: longest common subsequence "the cat on the
    mat", 5 of 6, F = 5/6.
    """
    scores = rouge_scores(["the cat sat on the mat"], [["the cat lay on the mat"]])
    assert scores == {"rouge1": 83.33, "rouge2": 60.0, "rougeL": 83.33}


def test_rouge_takes_the_best_reference_per_document_then_the_mean() -> None:
    """Document 1 matches its second reference exactly (100); document 2 scores as above."""
    scores = rouge_scores(
        ["a dog ran home", "the cat sat on the mat"],
        [["the cat lay on the mat", "a dog ran home"], ["the cat lay on the mat"]],
    )
    assert scores == {"rouge1": 91.67, "rouge2": 80.0, "rougeL": 91.67}


def test_rouge_of_an_empty_summary_is_zero() -> None:
    assert rouge_scores([""], [["the cat lay on the mat"]]) == {
        "rouge1": 0.0,
        "rouge2": 0.0,
        "rougeL": 0.0,
    }


# --- retrieval: nDCG@10, Recall@10/100, MRR@10 -------------------------------------------


def test_ndcg_by_hand_with_graded_gains() -> None:
    """Ranked x, b (gain 1), a (gain 2).

    DCG = 0/log2(2) + 1/log2(3) + 2/log2(4) = 0.63093 + 1 = 1.63093; the ideal order a, b gives
    IDCG = 2/log2(2) + 1/log2(3) = 2.63093; nDCG = 0.61991.
    """
    relevant = {"a": 2, "b": 1}
    assert ndcg_at(["x", "b", "a"], relevant, 10) == pytest.approx(0.61991, abs=1e-5)
    assert ndcg_at(["a", "b", "x"], relevant, 10) == 1.0


def test_ndcg_counts_only_the_top_k_and_ignores_zero_gains() -> None:
    # At k = 2 only "x", "b" count: DCG = 1/log2(3); the ideal is cut to two as well.
    expected = (1 / math.log2(3)) / (2 + 1 / math.log2(3))
    assert ndcg_at(["x", "b", "a"], {"a": 2, "b": 1}, 2) == pytest.approx(expected)
    assert ndcg_at(["x"] * 10 + ["a"], {"a": 1}, 10) == 0.0
    # A judged-irrelevant document (gain 0) neither earns gain nor raises the ideal.
    assert ndcg_at(["z", "a"], {"a": 1, "z": 0}, 10) == pytest.approx(1 / math.log2(3))


def test_recall_at_k_by_hand() -> None:
    relevant = {"a": 1, "b": 1, "c": 2, "d": 1, "z": 0}
    assert recall_at(["a", "x", "c", "d"], relevant, 10) == 0.75
    assert recall_at(["a", "x", "c", "d"], relevant, 2) == 0.25


def test_recall_at_100_stops_at_rank_100() -> None:
    """ "a" is the 100th document and counts; "b" is the 101st and does not."""
    ranked = [f"filler{i}" for i in range(99)] + ["a", "b"]
    assert recall_at(ranked, {"a": 1, "b": 1}, 100) == 0.5
    assert recall_at(ranked, {"a": 1, "b": 1}, 10) == 0.0


def test_mrr_is_the_reciprocal_rank_of_the_first_relevant_document() -> None:
    assert mrr_at(["x", "y", "a", "b"], {"a": 1, "b": 1}, 10) == pytest.approx(1 / 3)
    assert mrr_at(["a"], {"a": 1}, 10) == 1.0
    assert mrr_at(["x"] * 10 + ["a"], {"a": 1}, 10) == 0.0
    assert mrr_at(["z", "a"], {"a": 1, "z": 0}, 10) == 0.5


def test_no_relevant_documents_score_zero_without_dividing_by_zero() -> None:
    for metric in (ndcg_at, recall_at, mrr_at):
        assert metric(["a", "b"], {}, 10) == 0.0
        assert metric(["a", "b"], {"a": 0}, 10) == 0.0
        assert metric([], {"a": 1}, 10) == 0.0


def test_dedupe_ranks_a_document_where_its_best_chunk_ranks() -> None:
    assert dedupe(["a", "b", "a", "c", "b"]) == ["a", "b", "c"]
    assert dedupe([]) == []


def test_score_run_is_the_mean_over_judged_queries_in_the_run() -> None:
    """q1 is perfect, q2 finds its document at rank 2, q3 is not judged and does not count."""
    run = {"q1": ["a"], "q2": ["x", "b"], "q3": ["c"]}
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}}
    scores = score_run(run, qrels)
    assert scores["ndcg@10"] == pytest.approx((1 + 1 / math.log2(3)) / 2)
    assert scores["recall@10"] == 1.0
    assert scores["recall@100"] == 1.0
    assert scores["mrr@10"] == pytest.approx((1 + 1 / 2) / 2)


def test_score_run_with_no_judged_query_is_all_zero() -> None:
    assert score_run({"q1": ["a"]}, {"q2": {"a": 1}}) == {
        "ndcg@10": 0.0,
        "recall@10": 0.0,
        "recall@100": 0.0,
        "mrr@10": 0.0,
    }

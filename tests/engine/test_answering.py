"""Citations, the relevance floor and the prompt budget, on real hits and the real tokenizer."""

from __future__ import annotations

from engine.answering import (
    Numbered,
    citations_for,
    cited_numbers,
    covered,
    fit_passages,
    quoted_window,
    sentence_answer,
)
from engine.extract import candidates
from retrieval.search import Hit


def hit(text: str, dense: float | None = 0.5, source: str = "a.md") -> Hit:
    return Hit("c", source, "Title", "Heading", text, 0.03, dense, 1.0, 0, len(text))


def test_cited_numbers_in_order_of_use() -> None:
    assert cited_numbers("A [2] and B [1, 3]; again [2].") == [2, 1, 3]
    assert cited_numbers("no markers, [x] or [] here") == []


def test_citations_are_exactly_the_used_markers_and_dangling_ones_drop() -> None:
    passages = [
        Numbered(1, hit("first", source="a.md"), "first"),
        Numbered(2, hit("second", source="b.md"), "second"),
    ]
    citations = citations_for("It is so [2], see also [7].", passages)
    assert [(c.n, c.source) for c in citations] == [(2, "b.md")]


def test_relevance_floor_uses_dense_similarity() -> None:
    assert covered([hit("x", 0.1), hit("y", 0.4)], 0.25)
    assert not covered([hit("x", 0.1), hit("y", None)], 0.25)
    assert not covered([], 0.25)


def test_prompt_budget_trims_the_tail(base_model) -> None:
    _, tokenizer = base_model
    long = "word " * 300
    passages = fit_passages([hit(long), hit(long), hit(long)], tokenizer, budget=400)
    assert [p.n for p in passages] == [1, 2]
    assert passages[0].text == long.strip()
    assert passages[1].text.endswith("…")
    total = sum(len(tokenizer(p.text, add_special_tokens=False).input_ids) for p in passages)
    assert total <= 400 + 2


def test_passages_are_focused_on_the_question(base_model) -> None:
    _, tokenizer = base_model
    filler = " ".join(f"Filler sentence {n} is about nothing." for n in range(40))
    text = f"{filler} The treaty was signed in Lisbon in 2007. {filler}"
    passages = fit_passages([hit(text)], tokenizer, 640, "Where was the treaty signed?", 50)
    assert "signed in Lisbon" in passages[0].text
    assert len(passages[0].text.split()) < 70


def test_the_cited_passage_starts_with_the_quoted_sentence() -> None:
    text = "A first sentence here. The quoted one is this. Then more text follows. And more."
    chosen = candidates([hit(text)])[1]
    assert quoted_window(text, chosen, 5) == "The quoted one is this."
    assert quoted_window(text, chosen, 8) == "The quoted one is this. Then more text follows."
    assert quoted_window(text, chosen, 0) == (
        "The quoted one is this. Then more text follows. And more."
    )


def test_a_sentence_of_a_hard_wrapped_document_is_quoted_on_one_line() -> None:
    text = "Barges carry coal, grain and containers\nbetween the port of   Rotterdam and Basel."
    hits = [hit(text)]
    grounded = sentence_answer("Which port?", hits, candidates(hits)[0], 50)
    assert (
        grounded.answer
        == "Barges carry coal, grain and containers between the port of Rotterdam and Basel. [1]"
    )

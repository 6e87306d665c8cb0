"""``max_tokens`` and ``stop`` applied to an answer as its pieces arrive (real SmolLM2 tokenizer)."""

from __future__ import annotations

from service.delivery import Delivery

ANSWER = "The Rhine rises in the Swiss Alps and flows to the North Sea. [1]"


def delivered(delivery: Delivery, pieces: list[str]) -> list[str]:
    """What the client receives for ``pieces``, piece by piece, then what was held back."""
    return [delivery.add(piece) for piece in pieces] + [delivery.finish()]


def words(text: str) -> list[str]:
    """The pieces the extractive reader reports: each word with its trailing space."""
    return [word + " " for word in text.split(" ")[:-1]] + [text.split(" ")[-1]]


def test_without_limits_everything_is_delivered_as_it_comes(base_model) -> None:
    _, tokenizer = base_model
    delivery = Delivery(tokenizer, None, [])
    sent = delivered(delivery, words(ANSWER))
    assert sent[:-1] == words(ANSWER)
    assert "".join(sent) == ANSWER == delivery.text
    assert delivery.finish_reason == "stop"


def test_a_stop_sequence_split_across_pieces_is_never_sent(base_model) -> None:
    _, tokenizer = base_model
    delivery = Delivery(tokenizer, None, ["North Sea", "zzz"])
    sent = delivered(delivery, words(ANSWER))
    assert "".join(sent) == "The Rhine rises in the Swiss Alps and flows to the "
    assert delivery.done and delivery.finish_reason == "stop"
    assert all("North" not in piece for piece in sent)


def test_max_tokens_cuts_at_that_many_tokens(base_model) -> None:
    _, tokenizer = base_model
    delivery = Delivery(tokenizer, 4, [])
    sent = "".join(delivered(delivery, words(ANSWER)))
    assert ANSWER.startswith(sent) and len(sent.split()) >= 2
    assert len(tokenizer(sent, add_special_tokens=False).input_ids) == 4
    assert delivery.finish_reason == "length"
    whole = Delivery(tokenizer, 4, [])
    ids = tokenizer(ANSWER, add_special_tokens=False).input_ids
    assert "".join(delivered(whole, [ANSWER])) == tokenizer.decode(ids[:4])
    assert delivery.add("more") == ""


def test_an_answer_exactly_max_tokens_long_is_reported_as_cut(base_model) -> None:
    _, tokenizer = base_model
    count = len(tokenizer(ANSWER, add_special_tokens=False).input_ids)
    exact = Delivery(tokenizer, count, [])
    assert "".join(delivered(exact, [ANSWER])) == ANSWER
    assert exact.finish_reason == "length"
    roomy = Delivery(tokenizer, count + 1, [])
    delivered(roomy, [ANSWER])
    assert roomy.finish_reason == "stop"

"""The one generator: one stop rule, and the same text streamed or batched (real SmolLM2, float32)."""

from __future__ import annotations

import threading

import torch

from engine.generate import AnswerText, generate_batch, stop_token_ids, stream_tokens
from specialist.prompt import render, summary_request

DIALOGUE = (
    "#Person1#: Hi Tom, are you coming to the team lunch on Friday at noon?\n"
    "#Person2#: I can't, I have a dentist appointment. Can we move it to Monday?\n"
    "#Person1#: Sure, I'll tell everyone lunch moves to Monday."
)


def fed(tokenizer, text: str, stops: set[int] = frozenset()) -> tuple[list[str], AnswerText]:
    """The pieces an answer hands out when ``text``'s tokens arrive one by one."""
    answer = AnswerText(tokenizer, set(stops))
    pieces = [answer.add(t) for t in tokenizer(text, add_special_tokens=False).input_ids]
    return [*pieces, answer.finish()], answer


def test_default_model_generates_real_text_offline(base_model) -> None:
    model, tokenizer = base_model
    prompt = render(tokenizer, summary_request(DIALOGUE))
    answer = generate_batch(model, tokenizer, [prompt], max_new_tokens=40)[0]
    assert len(answer.split()) >= 3
    assert any(word in answer.lower() for word in ("lunch", "monday", "dentist", "tom"))


def test_stop_rule_blank_line_after_text_eos_and_split_characters(base_model) -> None:
    _, tokenizer = base_model
    pieces, answer = fed(tokenizer, "One line.\nStill one paragraph.\n\nA repeat. More.")
    assert answer.done and "".join(pieces) == "One line.\nStill one paragraph.\n"
    assert answer.add(tokenizer.eos_token_id) == ""  # nothing more once it ended

    pieces, _ = fed(tokenizer, "\n\nBlank lines before any text do not end it.")
    assert "".join(pieces) == "\n\nBlank lines before any text do not end it."

    eos = tokenizer.eos_token_id
    answer = AnswerText(tokenizer, {eos})
    assert answer.add(tokenizer("Yes", add_special_tokens=False).input_ids[0]) == "Yes"
    assert answer.add(eos) == "" and answer.done

    pieces, _ = fed(tokenizer, "Smile 🙂 and café.")
    assert "".join(pieces) == "Smile 🙂 and café." and not any("\ufffd" in p for p in pieces)


def test_answer_ends_at_the_first_blank_line_streamed_and_batched(base_model) -> None:
    model, tokenizer = base_model
    prompt = render(tokenizer, "Write a poem of four stanzas about the sea.")
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).input_ids
    with torch.inference_mode():
        raw = model.generate(
            ids,
            max_new_tokens=60,
            do_sample=False,
            eos_token_id=sorted(stop_token_ids(model, tokenizer)),
            pad_token_id=tokenizer.pad_token_id,
        )
    unbounded = tokenizer.decode(raw[0, ids.shape[1] :], skip_special_tokens=True).strip()
    assert "\n\n" in unbounded  # left alone, the model goes on after a blank line
    first_paragraph = unbounded[: unbounded.index("\n\n")]
    assert "".join(stream_tokens(model, tokenizer, prompt, 60)).strip() == first_paragraph
    assert generate_batch(model, tokenizer, [prompt], 60) == [first_paragraph]


def test_streaming_matches_whole_answer_and_batch(base_model) -> None:
    model, tokenizer = base_model
    prompt = render(tokenizer, summary_request(DIALOGUE))
    pieces = list(stream_tokens(model, tokenizer, prompt, max_new_tokens=24))
    assert len(pieces) > 1
    streamed = "".join(pieces).strip()
    batched = generate_batch(model, tokenizer, [prompt, render(tokenizer, "Say hello.")], 24)
    assert batched[0] == streamed  # the shorter prompt is left-padded beside it
    assert batched[1]


def test_setting_stop_ends_the_stream_before_the_next_token(base_model) -> None:
    model, tokenizer = base_model
    prompt = render(tokenizer, summary_request(DIALOGUE))
    stop = threading.Event()
    pieces = []
    for piece in stream_tokens(model, tokenizer, prompt, 24, stop):
        pieces.append(piece)
        stop.set()
    assert len(pieces) == 1

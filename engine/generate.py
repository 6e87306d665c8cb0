"""Greedy decoding on the CPU with one stop rule, streamed piece by piece or batched.

Streaming (the service, ``ask --local``, ``eval all``) and batches (``eval summarize``, ``eval rag``)
run the same KV-cache loop, :func:`decode`, so a prompt gives the same text whichever way it is
generated. The loop is explicit rather than ``model.generate`` in a thread so that a caller can
stop it between two tokens (a client that disconnects) and see each piece of text as soon as it
exists.

The stop rule: an answer ends at an end-of-sequence token, at the first blank line after some text
(:data:`PARAGRAPH_END`), or after ``max_new_tokens``, whichever comes first.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

PARAGRAPH_END = "\n\n"
"""An answer is one paragraph: a blank line after it starts a repeat or an unrelated text."""


def stop_token_ids(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> set[int]:
    """Every id that ends an answer: the tokenizer's EOS and the generation config's."""
    ids: set[int] = set()
    configured = model.generation_config.eos_token_id
    if isinstance(configured, int):
        ids.add(configured)
    elif configured:
        ids.update(configured)
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    return ids


class ParagraphText:
    """An answer's text so far, cut by the stop rule, and the part not yet handed out.

    It sees text, not tokens, so local decoding (:class:`AnswerText`) and a remote engine's stream
    (:mod:`engine.remote`) end an answer at the same place.
    """

    def __init__(self) -> None:
        self._text = ""
        self._handed_out = 0
        self.done = False

    def update(self, text: str) -> str:
        """Take the whole answer text so far; return the part that became final with it (maybe "")."""
        if self.done:
            return ""
        self._text = text
        end = text.find(PARAGRAPH_END, len(text) - len(text.lstrip()))
        if end >= 0:
            self._text = text[:end]
            return self.finish()
        if text.endswith("\ufffd"):  # a character split across tokens: wait for the rest
            return ""
        return self._hand_out()

    def finish(self) -> str:
        """End the answer and return what is left of its text."""
        self.done = True
        return self._hand_out()

    def _hand_out(self) -> str:
        if len(self._text) <= self._handed_out:
            return ""
        piece = self._text[self._handed_out :]
        self._handed_out = len(self._text)
        return piece


class AnswerText(ParagraphText):
    """One answer's tokens so far, decoded, with the stop rule (an end-of-sequence token too)."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, stops: set[int]) -> None:
        super().__init__()
        self._tokenizer = tokenizer
        self._stops = stops
        self._ids: list[int] = []

    def add(self, token: int) -> str:
        """Take the next generated token; return the text that became final with it (maybe "")."""
        if self.done:
            return ""
        if token in self._stops:
            return self.finish()
        self._ids.append(token)
        return self.update(self._tokenizer.decode(self._ids, skip_special_tokens=True))


@torch.inference_mode()
def decode(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    max_new_tokens: int,
    stop: threading.Event | None = None,
) -> Iterator[list[str]]:
    """Answer ``prompts`` greedily, one token each per step; yield each answer's new text per step.

    The prompts are left-padded into one batch and every answer ends by the stop rule; a finished
    one waits for the others. Setting ``stop`` ends the loop before the next step, with no more
    text. Only the last position's logits are computed: the prompt's other rows of vocabulary
    scores would cost a large matrix product and, in float32, ~100 MB per answer for nothing.
    """
    batch = tokenizer(
        list(prompts),
        return_tensors="pt",
        padding=True,
        padding_side="left",
        add_special_tokens=False,
    )
    mask = batch.attention_mask
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    stops = stop_token_ids(model, tokenizer)
    answers = [AnswerText(tokenizer, stops) for _ in prompts]
    step_ids, past = batch.input_ids, None
    for _ in range(max_new_tokens):
        if stop is not None and stop.is_set():
            return
        output = model(
            input_ids=step_ids,
            attention_mask=mask,
            position_ids=positions,
            past_key_values=past,
            use_cache=True,
            logits_to_keep=1,
        )
        past = output.past_key_values
        next_ids = output.logits[:, -1].argmax(-1)
        yield [answer.add(token) for answer, token in zip(answers, next_ids.tolist(), strict=True)]
        if all(answer.done for answer in answers):
            return
        step_ids = next_ids[:, None]
        mask = torch.cat([mask, mask.new_ones(len(answers), 1)], dim=1)
        positions = positions[:, -1:] + 1
    yield [answer.finish() for answer in answers]


def stream_tokens(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompt: str,
    max_new_tokens: int,
    stop: threading.Event | None = None,
) -> Iterator[str]:
    """Yield the answer to ``prompt`` piece by piece as it is generated (stops when ``stop`` is set)."""
    for (piece,) in decode(model, tokenizer, [prompt], max_new_tokens, stop):
        if piece:
            yield piece


def generate_batch(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    max_new_tokens: int,
) -> list[str]:
    """The whole answer to each of ``prompts``, generated together: evaluation's throughput path."""
    texts = [""] * len(prompts)
    for pieces in decode(model, tokenizer, prompts, max_new_tokens):
        texts = [text + piece for text, piece in zip(texts, pieces, strict=True)]
    return [text.strip() for text in texts]

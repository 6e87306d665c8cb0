"""Greedy text generation on the CPU: token streaming for the service, batches for evaluation.

Streaming uses an explicit KV-cache loop instead of ``model.generate`` in a thread so that a caller
can stop it between two tokens (a client that disconnects) and see the first token as soon as it
exists.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


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


PARAGRAPH_END = "\n\n"
"""An answer is one paragraph: a blank line after it starts a repeat or an unrelated text."""


@torch.inference_mode()
def stream_tokens(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompt: str,
    max_new_tokens: int,
    stop: threading.Event | None = None,
) -> Iterator[str]:
    """Yield the answer to ``prompt`` piece by piece (greedy), stopping early when ``stop`` is set.

    Generation also ends at the first blank line after some text (:data:`PARAGRAPH_END`).
    Only the last position's logits are computed: the prompt's other ~600 rows of vocabulary
    scores would cost a large matrix product and, in float32, ~100 MB per answer for nothing.
    """
    input_ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).input_ids
    stops = stop_token_ids(model, tokenizer)
    generated: list[int] = []
    emitted = text = ""
    past = None
    step_input = input_ids
    for _ in range(max_new_tokens):
        if stop is not None and stop.is_set():
            return
        output = model(input_ids=step_input, past_key_values=past, use_cache=True, logits_to_keep=1)
        past = output.past_key_values
        next_id = int(output.logits[0, -1].argmax())
        if next_id in stops:
            break
        generated.append(next_id)
        text = tokenizer.decode(generated, skip_special_tokens=True)
        if PARAGRAPH_END in text.lstrip():
            text = text[: text.index(PARAGRAPH_END, len(text) - len(text.lstrip()))]
            break
        if text.endswith("\ufffd"):
            step_input = torch.tensor([[next_id]])
            continue
        if len(text) > len(emitted):
            yield text[len(emitted) :]
            emitted = text
        step_input = torch.tensor([[next_id]])
    if len(text) > len(emitted):
        yield text[len(emitted) :]


def generate_text(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, prompt: str, max_new_tokens: int
) -> str:
    """The whole greedy answer to one prompt."""
    return "".join(stream_tokens(model, tokenizer, prompt, max_new_tokens)).strip()


@torch.inference_mode()
def generate_batch(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    max_new_tokens: int,
) -> list[str]:
    """Greedy answers to several prompts at once (left padding); evaluation's throughput path."""
    previous_side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        batch = tokenizer(
            list(prompts), return_tensors="pt", padding=True, add_special_tokens=False
        )
    finally:
        tokenizer.padding_side = previous_side
    output = model.generate(
        **batch,
        max_new_tokens=max_new_tokens,
        do_sample=False,
        eos_token_id=sorted(stop_token_ids(model, tokenizer)),
        pad_token_id=tokenizer.pad_token_id,
    )
    new_tokens = output[:, batch.input_ids.shape[1] :]
    return [text.strip() for text in tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]

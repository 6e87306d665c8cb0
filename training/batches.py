"""Token batches for training: the rendered prompt is context, only completion tokens carry loss.

The prompt is rendered with ``specialist.prompt.render`` and tokenized on its own, exactly as the
service tokenizes it before generating, so the model learns to continue the very token sequence it
will see at serving time.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from specialist.prompt import completion_end, render
from training.data import Example

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

log = logging.getLogger(__name__)

IGNORE = -100
"""Label of tokens that carry no loss (the prompt and the padding)."""


@dataclass(frozen=True)
class Encoded:
    """Token ids of one example and how many of them belong to the prompt."""

    input_ids: list[int]
    prompt_length: int


def encode(example: Example, tokenizer: PreTrainedTokenizerBase, max_length: int) -> Encoded | None:
    """Token ids of prompt + completion + end marker, or None when longer than ``max_length``."""
    prompt = tokenizer(render(tokenizer, example.prompt), add_special_tokens=False).input_ids
    answer = tokenizer(
        example.completion.strip() + completion_end(tokenizer), add_special_tokens=False
    ).input_ids
    if len(prompt) + len(answer) > max_length:
        return None
    return Encoded(input_ids=prompt + answer, prompt_length=len(prompt))


def encode_fitting(
    examples: Sequence[Example], tokenizer: PreTrainedTokenizerBase, max_length: int
) -> tuple[list[Encoded], int]:
    """The examples that fit in ``max_length`` tokens, and how many were left out.

    Leaving out is loud on purpose: the longest examples are seldom a random sample (in RAFT data
    they are the ones with most passages and a real answer), so dropping them silently skews
    what the model learns.
    """
    encoded = [encode(example, tokenizer, max_length) for example in examples]
    fitting = [e for e in encoded if e is not None]
    dropped = len(encoded) - len(fitting)
    if dropped:
        log.warning(
            "%d of %d examples (%.1f%%) are longer than max_seq_length=%d tokens and are left "
            "out; raise max_seq_length in the config to keep them",
            dropped,
            len(encoded),
            100 * dropped / len(encoded),
            max_length,
        )
    return fitting, dropped


def collate(items: Sequence[Encoded], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded tensors with labels masked to the completion tokens."""
    width = max(len(item.input_ids) for item in items)
    input_ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    labels = torch.full((len(items), width), IGNORE, dtype=torch.long)
    attention = torch.zeros((len(items), width), dtype=torch.long)
    for row, item in enumerate(items):
        ids = torch.tensor(item.input_ids, dtype=torch.long)
        input_ids[row, : len(ids)] = ids
        attention[row, : len(ids)] = 1
        labels[row, item.prompt_length : len(ids)] = ids[item.prompt_length :]
    return {"input_ids": input_ids, "attention_mask": attention, "labels": labels}


def length_grouped(
    lengths: Sequence[int], batch_size: int, seed: int, epoch: int, window: int = 32
) -> list[list[int]]:
    """One epoch's batches, with examples of similar length batched together.

    Padding is pure waste on a CPU, so each window of ``window`` shuffled batches is sorted by
    length before being cut into batches, and the batches are shuffled again. The order depends
    only on (seed, epoch), which lets a resumed run continue exactly where it stopped.
    """
    rng = random.Random(seed * 1_000_003 + epoch)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    span = batch_size * window
    batches = []
    for start in range(0, len(order), span):
        chunk = sorted(order[start : start + span], key=lambda i: lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def batch_stream(
    lengths: Sequence[int], batch_size: int, seed: int, start: tuple[int, int] = (0, 0)
) -> Iterator[tuple[tuple[int, int], list[int]]]:
    """Endless ((epoch, index after this batch), batch) pairs starting at position ``start``."""
    epoch, index = start
    while True:
        batches = length_grouped(lengths, batch_size, seed, epoch)
        for position in range(index, len(batches)):
            yield (epoch, position + 1), batches[position]
        epoch, index = epoch + 1, 0

"""Token batches for training: the rendered prompt is context, only completion tokens carry loss.

The prompt is rendered with ``specialist.prompt.render`` and tokenized on its own, exactly as the
service tokenizes it before generating, so the model learns to continue the very token sequence it
will see at serving time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from transformers.trainer_pt_utils import LengthGroupedSampler

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


def completion_tokens(items: Sequence[Encoded]) -> int:
    """Tokens that carry loss in ``items``."""
    return sum(len(item.input_ids) - item.prompt_length for item in items)


class Collator:
    """Right-padded tensors, labels masked to the completion, and which positions need logits.

    ``logits_to_keep`` marks the positions whose next token is a completion token. The model then
    projects only those onto its vocabulary (49k words for SmolLM2): completions are ~10% of the
    tokens, so this skips most of the costliest matrix product and its memory.
    """

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, items: Sequence[Encoded]) -> dict[str, torch.Tensor]:
        width = max(len(item.input_ids) for item in items)
        input_ids = torch.full((len(items), width), self.pad_id, dtype=torch.long)
        labels = torch.full((len(items), width), IGNORE, dtype=torch.long)
        attention = torch.zeros((len(items), width), dtype=torch.long)
        for row, item in enumerate(items):
            ids = torch.tensor(item.input_ids, dtype=torch.long)
            input_ids[row, : len(ids)] = ids
            attention[row, : len(ids)] = 1
            labels[row, item.prompt_length : len(ids)] = ids[item.prompt_length :]
        keep = torch.zeros((len(items), width), dtype=torch.bool)
        keep[:, :-1] = labels[:, 1:] != IGNORE
        return {
            "input_ids": input_ids,
            "attention_mask": attention,
            "labels": labels,
            "logits_to_keep": keep,
        }


class GlobalBatchSampler(LengthGroupedSampler):
    """The library's length grouping, in groups of one global batch, in an order set by the seed.

    Padding is pure waste on a CPU, so examples of similar length are batched together. Grouping
    by the global batch (not by one process's share of it) keeps the examples of each optimizer
    step the same whatever the number of processes, and drawing each epoch's order from (seed,
    epoch) alone lets a resumed run replay exactly the order it was killed in.
    """

    def __init__(self, lengths: Sequence[int], global_batch: int, seed: int) -> None:
        super().__init__(global_batch, lengths=list(lengths), generator=torch.Generator())
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Called by accelerate's data loader before each epoch."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        self.generator.manual_seed(self.seed * 1_000_003 + self.epoch)
        return super().__iter__()

"""The loss: cross-entropy of the completion tokens only, the trainer's ``compute_loss_func``."""

from __future__ import annotations

import torch
from transformers.modeling_outputs import CausalLMOutputWithPast

from training.batches import IGNORE


class CompletionLoss:
    """Summed cross-entropy of the completion tokens over the tokens it must be averaged over.

    Training: the trainer passes ``num_items_in_batch``, the completion tokens of the whole
    optimizer step (all accumulated passes, all processes), so every token weighs the same however
    the global batch is split; that is what makes one process and N processes take the same step.

    Dev loss: the trainer evaluates one example per pass and averages the returned values over
    the examples. Dividing each example's summed loss by the dev set's mean completion tokens per
    example turns that average into the loss per completion token over the whole dev set.
    """

    def __init__(self, dev_tokens_per_example: float) -> None:
        self.dev_tokens_per_example = dev_tokens_per_example

    def __call__(
        self,
        outputs: CausalLMOutputWithPast,
        labels: torch.Tensor,
        num_items_in_batch: torch.Tensor | int | None = None,
    ) -> torch.Tensor:
        # The logits are those of the positions the collator kept (a flat row per completion
        # token, in reading order), so the targets are the completion labels in the same order.
        targets = labels[:, 1:]
        targets = targets[targets != IGNORE]
        summed = torch.nn.functional.cross_entropy(outputs.logits.float(), targets, reduction="sum")
        if num_items_in_batch is None:
            return summed / self.dev_tokens_per_example
        return summed / num_items_in_batch

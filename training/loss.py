"""The loss: cross-entropy of the completion tokens only, the trainer's ``compute_loss_func``."""

from __future__ import annotations

import torch
from transformers.modeling_outputs import CausalLMOutputWithPast

from training.batches import IGNORE


class CompletionLoss:
    """Summed cross-entropy of the completion tokens, divided so that every token weighs the same.

    Training: ``num_items_in_batch`` is the number of completion tokens of the whole optimizer
    step (all accumulated passes, all processes), so the step is the same however the global
    batch is split among processes; that is what makes one process and N processes equivalent.

    Dev loss (the trainer evaluates under ``no_grad``, one example per pass): the trainer
    multiplies each returned value by the process count and averages them over the dev examples.
    Dividing each example's summed loss by (mean completion tokens per dev example x processes)
    makes that average the loss per completion token over the whole dev set, for any process count
    (the number the hand-written loop reported, so old and new dev losses compare).
    """

    def __init__(self, dev_tokens_per_example: float, processes: int) -> None:
        self.dev_scale = dev_tokens_per_example * processes

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
        if not torch.is_grad_enabled():
            return summed / self.dev_scale
        return summed / num_items_in_batch

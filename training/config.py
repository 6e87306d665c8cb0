"""Hyperparameters of a training run, as one dataclass read from a JSON file in ``configs/``.

Every field is documented here; :mod:`training.arguments` is the one place that turns them into
the Hugging Face ``TrainingArguments`` the trainer runs with.

**Global batch.** An optimizer step sees ``batch_size x grad_accumulation x processes`` examples.
Set ``global_batch`` instead of ``grad_accumulation`` and the accumulation is derived from the
number of processes at launch, so the same config makes the same optimizer steps on one process
or on eight.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from specialist.errors import UserError
from specialist.hardware import resolve_dtype


@dataclass(frozen=True)
class TrainConfig:
    """Everything that shapes a run; recorded in the adapter's ``metrics.json``."""

    lora_r: int = 16
    """LoRA rank: capacity of the update; 8-16 is plenty for a 135M model."""
    lora_alpha: int = 32
    """Scale of the update (alpha / r multiplies the LoRA product)."""
    lora_dropout: float = 0.05
    """Dropout on the LoRA input, a light regularizer for a few thousand examples."""
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"]
    )
    """Linear layers that get LoRA matrices (attention projections by default)."""
    learning_rate: float = 3e-4
    """Peak learning rate of AdamW, reached after the warmup and decayed to zero by a cosine."""
    weight_decay: float = 0.0
    """AdamW weight decay on the LoRA matrices."""
    batch_size: int = 4
    """Examples per forward pass in each process."""
    grad_accumulation: int | None = None
    """Forward passes per process per optimizer step; leave unset when ``global_batch`` is set.
    With neither set it is 1."""
    global_batch: int | None = None
    """Examples per optimizer step over all processes; the accumulation becomes
    ``global_batch / (batch_size x processes)``, which must be a whole number."""
    max_seq_length: int = 512
    """Prompt + completion tokens; longer examples are dropped (and counted), never cut mid-prompt."""
    max_steps: int = 300
    """Optimizer steps; the cosine schedule decays to zero at this step."""
    warmup_steps: int = 20
    """Optimizer steps of linear warmup from zero to ``learning_rate``."""
    seed: int = 1234
    """Seeds the dev split, the LoRA initialization, dropout and the order of the examples."""
    dev_fraction: float = 0.05
    """Share of the examples held out for the dev loss (at most ``dev_max`` of them)."""
    dev_max: int = 64
    """Cap on the dev examples, so a large data set does not make each measurement slow."""
    eval_every: int = 50
    """Optimizer steps between two dev-loss measurements (also measured at step 0 and the end)."""
    early_stopping_patience: int = 3
    """Stop after this many dev measurements without improvement (0 disables)."""
    checkpoint_every: int = 50
    """Optimizer steps between two resumable checkpoints; a multiple of ``eval_every`` (the
    trainer's rule). Every dev-loss improvement is checkpointed too, so the best weights can be
    restored at the end."""
    dtype: Literal["auto", "float32", "bfloat16"] = "auto"
    """Compute dtype: bfloat16 autocast (weights and LoRA kept in float32) or float32; ``auto`` is
    bfloat16 only on CPUs that compute it natively (:mod:`specialist.hardware`)."""

    def __post_init__(self) -> None:
        positive = ("lora_r", "lora_alpha", "batch_size", "max_steps")
        for name in positive:
            if getattr(self, name) < 1:
                raise UserError(f"config: {name} must be at least 1")
        for name in ("grad_accumulation", "global_batch"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise UserError(f"config: {name} must be at least 1 when set")
        if self.grad_accumulation is not None and self.global_batch is not None:
            raise UserError("config: set grad_accumulation or global_batch, not both")
        if self.max_seq_length < 32:
            raise UserError("config: max_seq_length must be at least 32")
        if not 0 <= self.lora_dropout < 1:
            raise UserError("config: lora_dropout must be in [0, 1)")
        if not 0 < self.dev_fraction < 1:
            raise UserError("config: dev_fraction must be in (0, 1)")
        if self.eval_every < 1 or self.checkpoint_every < 1:
            raise UserError("config: eval_every and checkpoint_every must be at least 1")
        if self.checkpoint_every % self.eval_every:
            raise UserError(
                f"config: checkpoint_every ({self.checkpoint_every}) must be a multiple of "
                f"eval_every ({self.eval_every})"
            )
        if self.dtype not in ("auto", "float32", "bfloat16"):
            raise UserError("config: dtype must be auto, float32 or bfloat16")
        object.__setattr__(self, "dtype", resolve_dtype(self.dtype))
        if not self.target_modules:
            raise UserError("config: target_modules must name at least one layer")

    def accumulation(self, processes: int) -> int:
        """Forward passes per process per optimizer step when ``processes`` processes train."""
        if self.global_batch is None:
            return self.grad_accumulation or 1
        per_pass = self.batch_size * processes
        if self.global_batch % per_pass:
            raise UserError(
                f"config: global_batch {self.global_batch} is not a multiple of batch_size "
                f"{self.batch_size} x {processes} process(es)"
            )
        return self.global_batch // per_pass

    def global_batch_for(self, processes: int) -> int:
        """Examples per optimizer step when ``processes`` processes train."""
        return self.batch_size * self.accumulation(processes) * processes

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (recorded with checkpoints and adapters)."""
        return asdict(self)


def load_config(path: Path | None, **overrides: Any) -> TrainConfig:
    """Defaults, updated from a JSON config file, then by command-line overrides (None = unset)."""
    values: dict[str, Any] = {}
    if path is not None:
        try:
            values = json.loads(path.read_text())
        except FileNotFoundError:
            raise UserError(f"{path}: no such config file") from None
        except ValueError as exc:
            raise UserError(f"{path}: not valid JSON ({exc})") from None
        if not isinstance(values, dict):
            raise UserError(f"{path}: expected a JSON object of hyperparameters")
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise UserError(
            f"unknown config key(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(known))}"
        )
    try:
        return TrainConfig(**values)
    except TypeError as exc:
        raise UserError(f"config: {exc}") from None

"""Hyperparameters of a training run, as one dataclass read from a JSON file in ``configs/``."""

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
    weight_decay: float = 0.0
    batch_size: int = 4
    """Examples per forward pass."""
    grad_accumulation: int = 2
    """Forward passes per optimizer step (effective batch = batch_size * grad_accumulation)."""
    max_seq_length: int = 512
    """Prompt + completion tokens; longer examples are dropped (and counted), never cut mid-prompt."""
    max_steps: int = 300
    """Optimizer steps; the cosine schedule decays to zero at this step."""
    warmup_steps: int = 20
    seed: int = 1234
    dev_fraction: float = 0.05
    """Share of the examples held out for the dev loss (at most ``dev_max`` of them)."""
    dev_max: int = 64
    eval_every: int = 50
    """Optimizer steps between two dev-loss measurements."""
    early_stopping_patience: int = 3
    """Stop after this many dev measurements without improvement (0 disables)."""
    checkpoint_every: int = 25
    """Optimizer steps between two resumable checkpoints."""
    dtype: Literal["auto", "float32", "bfloat16"] = "auto"
    """Compute dtype: bfloat16 autocast (weights and LoRA kept in float32) or float32; ``auto`` is
    bfloat16 only on CPUs that compute it natively (:mod:`specialist.hardware`)."""

    def __post_init__(self) -> None:
        positive = ("lora_r", "lora_alpha", "batch_size", "grad_accumulation", "max_steps")
        for name in positive:
            if getattr(self, name) < 1:
                raise UserError(f"config: {name} must be at least 1")
        if self.max_seq_length < 32:
            raise UserError("config: max_seq_length must be at least 32")
        if not 0 <= self.lora_dropout < 1:
            raise UserError("config: lora_dropout must be in [0, 1)")
        if not 0 < self.dev_fraction < 1:
            raise UserError("config: dev_fraction must be in (0, 1)")
        if self.eval_every < 1 or self.checkpoint_every < 1:
            raise UserError("config: eval_every and checkpoint_every must be at least 1")
        if self.dtype not in ("auto", "float32", "bfloat16"):
            raise UserError("config: dtype must be auto, float32 or bfloat16")
        object.__setattr__(self, "dtype", resolve_dtype(self.dtype))
        if not self.target_modules:
            raise UserError("config: target_modules must name at least one layer")

    @property
    def effective_batch(self) -> int:
        """Examples per optimizer step."""
        return self.batch_size * self.grad_accumulation

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

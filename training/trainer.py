"""``specialist train``: LoRA fine-tuning of the base model on prompt/completion JSONL, on the CPU.

A plain loop in the spirit of nanoGPT's ``train.py`` rather than a framework trainer, so that every
step of the contract is visible: loss on completion tokens only, gradient accumulation, cosine
schedule with warmup, dev loss with early stopping, resumable checkpoints, and an adapter written
to the registry through a temporary folder that only becomes a version when it is complete.

Checkpoints live in ``<home>/training/<run id>/``; the run id is a hash of the base model, the
config and the data files' sha256, so ``--resume`` with the same command finds its own run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import random
import shutil
import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from filelock import FileLock, Timeout
from tqdm import tqdm

from specialist.adapters import ADAPTER_CONFIG, METRICS, AdapterRegistry
from specialist.errors import BusyError, UserError
from specialist.models import BASE_MODELS, load_base_model
from specialist.settings import Settings
from training.batches import IGNORE, Encoded, batch_stream, collate, encode_fitting
from training.config import TrainConfig
from training.data import Example, read_examples, sha256_file
from training.plot import plot_loss_curve

if TYPE_CHECKING:
    from peft import PeftModel

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
TRAIN_LOG = "train_log.jsonl"
LOSS_CURVE = "loss_curve.png"


@dataclass
class RunState:
    """Everything a checkpoint must hold to continue a run as if it had never stopped."""

    step: int = 0
    position: tuple[int, int] = (0, 0)
    samples: int = 0
    train_seconds: float = 0.0
    best_dev_loss: float = math.inf
    best_step: int = 0
    dev_loss_before: float | None = None
    bad_evals: int = 0
    stopped_early: bool = False
    resumed_from: list[int] = field(default_factory=list)
    history: list[dict[str, float]] = field(default_factory=list)


@dataclass(frozen=True)
class DataFile:
    """A data file as recorded in the adapter's metrics."""

    path: str
    sha256: str
    examples: int


@dataclass(frozen=True)
class TrainResult:
    """What a finished run produced."""

    version: str
    path: Path
    metrics: dict[str, Any]


def run_id(base_model: str, config: TrainConfig, files: Sequence[DataFile]) -> str:
    """Stable name of a run, so the same command with ``--resume`` finds its checkpoint."""
    key = json.dumps(
        {"base": base_model, "config": config.to_dict(), "data": [f.sha256 for f in files]},
        sort_keys=True,
    )
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def load_data(paths: Sequence[Path]) -> tuple[list[Example], list[DataFile]]:
    """All examples of all files (validated before anything is written) and their provenance."""
    if not paths:
        raise UserError("no data file given; pass --data FILE.jsonl")
    examples: list[Example] = []
    files = []
    for path in paths:
        found = read_examples(path)
        examples.extend(found)
        files.append(DataFile(str(path), sha256_file(path), len(found)))
    return examples, files


def split_dev(encoded: list[Encoded], config: TrainConfig) -> tuple[list[Encoded], list[Encoded]]:
    """Seeded split into train and dev; the dev set measures generalization for early stopping."""
    if len(encoded) < 2:
        raise UserError(
            f"need at least 2 examples that fit in max_seq_length={config.max_seq_length} "
            f"tokens, found {len(encoded)}"
        )
    order = list(range(len(encoded)))
    random.Random(config.seed).shuffle(order)
    n_dev = min(config.dev_max, max(1, round(len(encoded) * config.dev_fraction)))
    dev = [encoded[i] for i in order[:n_dev]]
    train = [encoded[i] for i in order[n_dev:]]
    return train, dev


def autocast(config: TrainConfig):
    """bfloat16 autocast context on the CPU, or nothing for float32."""
    if config.dtype == "bfloat16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return nullcontext()


def token_loss(model: PeftModel, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
    """Summed cross-entropy over completion tokens, and how many tokens that is.

    The vocabulary projection (49k words for SmolLM2) is applied only at the positions that carry
    loss: completions are ~10% of the tokens, so this skips most of the costliest matrix product.
    """
    base = model.get_base_model()
    hidden = base.model(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
    ).last_hidden_state
    labels = batch["labels"][:, 1:]
    keep = labels != IGNORE
    logits = base.lm_head(hidden[:, :-1][keep]).float()
    loss = torch.nn.functional.cross_entropy(logits, labels[keep], reduction="sum")
    return loss, int(keep.sum())


@torch.no_grad()
def dev_loss(model: torch.nn.Module, dev: list[Encoded], config: TrainConfig, pad_id: int) -> float:
    """Mean completion-token loss over the dev set (dropout off)."""
    model.eval()
    total, tokens = 0.0, 0
    ordered = sorted(dev, key=lambda item: len(item.input_ids))
    for start in range(0, len(ordered), config.batch_size):
        batch = collate(ordered[start : start + config.batch_size], pad_id)
        with autocast(config):
            loss, count = token_loss(model, batch)
        total += float(loss)
        tokens += count
    model.train()
    return total / max(tokens, 1)


def make_peft_model(model: torch.nn.Module, config: TrainConfig) -> PeftModel:
    """Wrap the base model with trainable LoRA matrices on the configured layers."""
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(config.target_modules),
        task_type="CAUSAL_LM",
    )
    try:
        return get_peft_model(model, lora)
    except ValueError as exc:
        raise UserError(f"config: target_modules do not fit this base model ({exc})") from None


def save_checkpoint(
    folder: Path,
    model: PeftModel,
    optimizer: Any,
    scheduler: Any,
    state: RunState,
    best_lora: dict[str, torch.Tensor] | None,
) -> None:
    """Write the checkpoint atomically (temporary file, then ``os.replace``)."""
    from peft import get_peft_model_state_dict

    tmp = folder / f".{CHECKPOINT}.tmp"
    torch.save(
        {
            "lora": get_peft_model_state_dict(model),
            "best_lora": best_lora,
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "state": state.__dict__,
            "rng": torch.get_rng_state(),
        },
        tmp,
    )
    os.replace(tmp, folder / CHECKPOINT)


def load_checkpoint(
    folder: Path, model: PeftModel, optimizer: Any, scheduler: Any
) -> tuple[RunState, dict[str, torch.Tensor] | None] | None:
    """Restore a run and its best weights so far from its checkpoint; None when there is none."""
    from peft import set_peft_model_state_dict

    path = folder / CHECKPOINT
    if not path.is_file():
        return None
    try:
        saved = torch.load(path, weights_only=False)
    except Exception as exc:
        raise UserError(
            f"checkpoint {path} is unreadable ({exc}); start without --resume"
        ) from None
    set_peft_model_state_dict(model, saved["lora"])
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    torch.set_rng_state(saved["rng"])
    state = RunState(**saved["state"])
    state.position = tuple(state.position)
    return state, saved["best_lora"]


def base_model_record(name: str) -> dict[str, str | None]:
    """Which base model, from which package version, the adapter was trained on."""
    spec = BASE_MODELS[name]
    return {"name": name, "package": spec.package, "version": spec.version}


def write_adapter(
    settings: Settings,
    model: PeftModel,
    metrics: dict[str, Any],
    history: list[dict[str, float]],
) -> TrainResult:
    """Commit the adapter as a new registry version (temporary folder, then atomic switch)."""
    registry = AdapterRegistry(settings)
    registry.ensure_default()
    with registry.store.write_lock(), registry.store.new_version() as pending:
        model.save_pretrained(pending.path)
        (pending.path / "README.md").unlink(missing_ok=True)
        config_path = pending.path / ADAPTER_CONFIG
        adapter_config = json.loads(config_path.read_text())
        adapter_config["base_model_name_or_path"] = settings.base_model
        config_path.write_text(json.dumps(adapter_config, indent=2))
        metrics["version"] = pending.name
        (pending.path / METRICS).write_text(json.dumps(metrics, indent=2))
        (pending.path / TRAIN_LOG).write_text("".join(json.dumps(h) + "\n" for h in history))
        plot_loss_curve(history, pending.path / LOSS_CURVE)
        version = pending.name
    return TrainResult(version, registry.store.path(version), metrics)


def train(
    settings: Settings,
    data_paths: Sequence[Path],
    config: TrainConfig,
    resume: bool = False,
) -> TrainResult:
    """Train a LoRA adapter and register it as the current version; see the module docstring."""
    examples, files = load_data(data_paths)
    run_dir = settings.home / "training" / run_id(settings.base_model, config, files)
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(run_dir / ".lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise BusyError(
            f"this training run is already going on in another process ({run_dir})"
        ) from None
    try:
        return _train_locked(settings, examples, files, config, run_dir, resume)
    finally:
        lock.release()


def _train_locked(
    settings: Settings,
    examples: list[Example],
    files: list[DataFile],
    config: TrainConfig,
    run_dir: Path,
    resume: bool,
) -> TrainResult:
    from transformers import get_cosine_schedule_with_warmup

    torch.manual_seed(config.seed)
    base, tokenizer = load_base_model(settings.model_copy(update={"dtype": "float32"}))
    encoded, dropped = encode_fitting(examples, tokenizer, config.max_seq_length)
    train_set, dev_set = split_dev(encoded, config)
    model = make_peft_model(base, config)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)
    scheduler = get_cosine_schedule_with_warmup(optimizer, config.warmup_steps, config.max_steps)
    pad_id = tokenizer.pad_token_id

    restored = load_checkpoint(run_dir, model, optimizer, scheduler) if resume else None
    if restored is None:
        if resume:
            log.warning("no checkpoint of this run to resume in %s; starting at step 0", run_dir)
        (run_dir / CHECKPOINT).unlink(missing_ok=True)
        state, best_lora = RunState(), None
        state.dev_loss_before = dev_loss(model, dev_set, config, pad_id)
        state.history.append({"step": 0, "dev_loss": round(state.dev_loss_before, 5)})
    else:
        state, best_lora = restored
        state.resumed_from.append(state.step)
        log.warning("resuming run %s from step %d", run_dir.name, state.step)

    lengths = [len(e.input_ids) for e in train_set]
    stream = batch_stream(lengths, config.batch_size, config.seed, state.position)
    progress = tqdm(
        total=config.max_steps, initial=state.step, desc="train", unit="step", dynamic_ncols=True
    )
    while state.step < config.max_steps and not state.stopped_early:
        started = time.perf_counter()
        total_loss, total_tokens, step_samples = 0.0, 0, 0
        for _ in range(config.grad_accumulation):
            state.position, indices = next(stream)
            batch = collate([train_set[i] for i in indices], pad_id)
            with autocast(config):
                loss, tokens = token_loss(model, batch)
            (loss / max(tokens, 1) / config.grad_accumulation).backward()
            total_loss += float(loss.detach())
            total_tokens += tokens
            step_samples += len(indices)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        elapsed = time.perf_counter() - started
        state.step += 1
        state.samples += step_samples
        state.train_seconds += elapsed
        train_loss = total_loss / max(total_tokens, 1)
        state.history.append(
            {
                "step": state.step,
                "loss": round(train_loss, 5),
                "lr": scheduler.get_last_lr()[0],
                "samples_per_s": round(step_samples / elapsed, 3),
            }
        )
        progress.update(1)
        progress.set_postfix(loss=f"{train_loss:.3f}", samples_s=f"{step_samples / elapsed:.2f}")
        if state.step % config.eval_every == 0 or state.step == config.max_steps:
            best_lora = _evaluate(model, dev_set, config, pad_id, state, best_lora, progress)
        if state.step % config.checkpoint_every == 0 and state.step < config.max_steps:
            save_checkpoint(run_dir, model, optimizer, scheduler, state, best_lora)
    progress.close()

    if best_lora is not None and state.best_step != state.step:
        from peft import set_peft_model_state_dict

        set_peft_model_state_dict(model, best_lora)
    metrics = {
        "base_model": settings.base_model,
        "base_model_source": base_model_record(settings.base_model),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": [f.__dict__ for f in files],
        "examples": {"train": len(train_set), "dev": len(dev_set), "dropped_too_long": dropped},
        "hyperparameters": config.to_dict(),
        "threads": settings.threads,
        "train": {
            "steps": state.step,
            "samples": state.samples,
            "train_time_s": round(state.train_seconds, 1),
            "samples_per_s": round(state.samples / max(state.train_seconds, 1e-9), 3),
            "dev_loss_before": state.dev_loss_before,
            "best_dev_loss": state.best_dev_loss,
            "best_step": state.best_step,
            "stopped_early": state.stopped_early,
            "resumed_from_steps": state.resumed_from,
        },
        "eval": {},
    }
    result = write_adapter(settings, model, metrics, state.history)
    shutil.rmtree(run_dir, ignore_errors=True)
    return result


def _lora_copy(model: PeftModel) -> dict[str, torch.Tensor]:
    from peft import get_peft_model_state_dict

    return {k: v.detach().clone() for k, v in get_peft_model_state_dict(model).items()}


def _evaluate(
    model: PeftModel,
    dev_set: list[Encoded],
    config: TrainConfig,
    pad_id: int,
    state: RunState,
    best_lora: dict[str, torch.Tensor] | None,
    progress: tqdm,
) -> dict[str, torch.Tensor] | None:
    """Dev loss now; remember the best weights and count evaluations without improvement."""
    loss = dev_loss(model, dev_set, config, pad_id)
    state.history.append({"step": state.step, "dev_loss": round(loss, 5)})
    progress.write(f"step {state.step}: dev loss {loss:.4f}")
    if loss < state.best_dev_loss:
        state.best_dev_loss, state.best_step, state.bad_evals = loss, state.step, 0
        return _lora_copy(model)
    state.bad_evals += 1
    if config.early_stopping_patience and state.bad_evals >= config.early_stopping_patience:
        state.stopped_early = True
        progress.write(f"early stop: no dev improvement in {state.bad_evals} evaluations")
    return best_lora

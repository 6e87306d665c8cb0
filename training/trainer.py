"""``specialist train``: LoRA fine-tuning on the Hugging Face ``Trainer``, in one process or many.

The library runs the loop: gradient accumulation, the cosine schedule with warmup, dev loss and
early stopping, checkpoints and resuming, progress, and DDP when launched by ``torchrun`` or
``accelerate launch`` (gloo between CPU processes, NCCL between GPUs). This module adds what is
the project's own: the prompt template and the completion-only loss (:mod:`training.batches`,
:mod:`training.loss`), the one mapping of the config onto the trainer (:mod:`training.arguments`),
and the adapter written to the registry through a temporary folder that only becomes a version
when it is complete, by the first process alone.

Checkpoints live in ``<home>/training/<run id>/checkpoint-<step>/``; the run id is a hash of the
base model, the config, the global batch and the data files' sha256, so ``--resume`` with the same
command finds its own run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from filelock import FileLock, Timeout
from transformers import EarlyStoppingCallback, Trainer, TrainerCallback

from specialist.adapters import ADAPTER_CONFIG, METRICS, AdapterRegistry
from specialist.errors import BusyError, UserError
from specialist.models import BASE_MODELS, configure_torch, load_base_model
from specialist.settings import Settings
from training.arguments import lora_config, training_arguments
from training.batches import (
    Collator,
    Encoded,
    GlobalBatchSampler,
    completion_tokens,
    encode_fitting,
)
from training.callbacks import CheckpointImprovements, RecordResume, StepClock
from training.checkpoints import checkpoints, resumable
from training.config import TrainConfig
from training.data import Example, read_examples, sha256_file
from training.loss import CompletionLoss
from training.plot import plot_loss_curve

if TYPE_CHECKING:
    from peft import PeftModel
    from transformers import TrainerState

log = logging.getLogger(__name__)

TRAIN_LOG = "train_log.jsonl"
LOSS_CURVE = "loss_curve.png"


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


class AdapterTrainer(Trainer):
    """The library's trainer, with examples of similar length batched together (see the sampler)."""

    def _get_train_sampler(self, train_dataset: Any = None) -> GlobalBatchSampler:
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        args = self.args
        global_batch = args.train_batch_size * args.gradient_accumulation_steps * args.world_size
        return GlobalBatchSampler(
            [len(item.input_ids) for item in dataset], global_batch, args.seed
        )


def process_rank() -> tuple[int, int]:
    """This process's rank and the number of processes, as set by torchrun or accelerate."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def run_id(
    base_model: str, config: TrainConfig, files: Sequence[DataFile], global_batch: int
) -> str:
    """Stable name of a run, so the same command with ``--resume`` finds its checkpoint."""
    key = json.dumps(
        {
            "base": base_model,
            "config": config.to_dict(),
            "data": [f.sha256 for f in files],
            "global_batch": global_batch,
        },
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


def make_peft_model(model: torch.nn.Module, config: TrainConfig) -> PeftModel:
    """Wrap the base model with trainable LoRA matrices on the configured layers."""
    from peft import get_peft_model

    try:
        return get_peft_model(model, lora_config(config))
    except ValueError as exc:
        raise UserError(f"config: target_modules do not fit this base model ({exc})") from None


def base_model_record(name: str) -> dict[str, str | None]:
    """Which base model, from which package version, the adapter was trained on."""
    spec = BASE_MODELS[name]
    return {"name": name, "package": spec.package, "version": spec.version}


def loss_history(log_history: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The trainer's log as the project's ``train_log.jsonl`` rows (train loss, dev loss, resumes)."""
    rows: list[dict[str, Any]] = []
    for entry in log_history:
        if "loss" in entry:
            rows.append(
                {
                    "step": entry["step"],
                    "loss": round(entry["loss"], 5),
                    "lr": entry["learning_rate"],
                    "grad_norm": round(float(entry["grad_norm"]), 4),
                }
            )
        elif "eval_loss" in entry:
            rows.append({"step": entry["step"], "dev_loss": round(entry["eval_loss"], 5)})
        elif "resumed_from_step" in entry:
            rows.append({"step": entry["step"], "resumed_from_step": entry["resumed_from_step"]})
    return rows


def write_adapter(
    settings: Settings,
    model: PeftModel,
    metrics: dict[str, Any],
    history: list[dict[str, Any]],
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
) -> TrainResult | None:
    """Train a LoRA adapter and register it as the current version; see the module docstring.

    Every process of a distributed run calls this; the first one returns the result, the others
    None.
    """
    examples, files = load_data(data_paths)
    rank, processes = process_rank()
    global_batch = config.global_batch_for(processes)
    run_dir = settings.home / "training" / run_id(settings.base_model, config, files, global_batch)
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(run_dir / f".lock-rank{rank}"))
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


def _starting_checkpoint(run_dir: Path, resume: bool, first: bool) -> Path | None:
    """The checkpoint to resume from; a fresh start clears the run's old checkpoints."""
    checkpoint = resumable(run_dir, tidy=first) if resume else None
    if resume and checkpoint is None:
        log.warning("no checkpoint of this run to resume in %s; starting at step 0", run_dir)
    elif checkpoint is not None:
        log.warning("resuming run %s from %s", run_dir.name, checkpoint.name)
    if checkpoint is None and first:
        for old in checkpoints(run_dir):
            shutil.rmtree(old, ignore_errors=True)
    return checkpoint


def _train_locked(
    settings: Settings,
    examples: list[Example],
    files: list[DataFile],
    config: TrainConfig,
    run_dir: Path,
    resume: bool,
) -> TrainResult | None:
    rank, processes = process_rank()
    torch.manual_seed(config.seed)
    base, tokenizer = load_base_model(settings.model_copy(update={"dtype": "float32"}))
    encoded, dropped = encode_fitting(examples, tokenizer, config.max_seq_length)
    train_set, dev_set = split_dev(encoded, config)
    model = make_peft_model(base, config)
    checkpoint = _starting_checkpoint(run_dir, resume, first=rank == 0)
    clock = StepClock()
    callbacks: list[TrainerCallback] = [CheckpointImprovements(), RecordResume(), clock]
    if config.early_stopping_patience:
        callbacks.append(EarlyStoppingCallback(config.early_stopping_patience))
    trainer = AdapterTrainer(
        model=model,
        args=training_arguments(config, run_dir, processes, resuming=checkpoint is not None),
        train_dataset=train_set,
        eval_dataset=dev_set,
        data_collator=Collator(tokenizer.pad_token_id),
        compute_loss_func=CompletionLoss(completion_tokens(dev_set) / len(dev_set), processes),
        callbacks=callbacks,
    )
    # accelerate picks its own CPU thread count for DDP when OMP_NUM_THREADS is unset;
    # SPECIALIST_THREADS decides
    configure_torch(settings)
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    if not trainer.is_world_process_zero():
        return None
    state = trainer.state
    history = loss_history(state.log_history)
    metrics = {
        "base_model": settings.base_model,
        "base_model_source": base_model_record(settings.base_model),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": [f.__dict__ for f in files],
        "examples": {"train": len(train_set), "dev": len(dev_set), "dropped_too_long": dropped},
        "hyperparameters": config.to_dict(),
        "threads": settings.threads,
        "processes": processes,
        "train": _train_summary(state, config, processes, clock, history),
        "eval": {},
    }
    result = write_adapter(settings, trainer.model, metrics, history)
    shutil.rmtree(run_dir, ignore_errors=True)
    return result


def _train_summary(
    state: TrainerState,
    config: TrainConfig,
    processes: int,
    clock: StepClock,
    history: list[dict[str, Any]],
) -> dict[str, Any]:
    """The ``train`` block of ``metrics.json``; throughput is of this invocation's steps alone."""
    global_batch = config.global_batch_for(processes)
    dev = [row for row in history if "dev_loss" in row]
    return {
        "steps": state.global_step,
        "global_batch": global_batch,
        "grad_accumulation": config.accumulation(processes),
        "samples": state.global_step * global_batch,
        "train_time_s": round(clock.seconds, 1),
        "samples_per_s": round(clock.steps * global_batch / max(clock.seconds, 1e-9), 3),
        "dev_loss_before": dev[0]["dev_loss"] if dev and dev[0]["step"] == 0 else None,
        "best_dev_loss": state.best_metric,
        "best_step": state.best_global_step,
        "stopped_early": state.global_step < config.max_steps,
        "resumed_from_steps": [r["resumed_from_step"] for r in history if "resumed_from_step" in r],
    }

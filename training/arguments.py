"""The one place where a :class:`TrainConfig` becomes the libraries' arguments.

peft gets the ``lora_*`` fields; the trainer gets everything else as ``TrainingArguments``. Each
argument is either a config field or a fixed choice of this project with the reason for it.
Nothing else sets trainer or LoRA arguments.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from transformers import TrainingArguments

from training.config import TrainConfig

if TYPE_CHECKING:
    from peft import LoraConfig


def lora_config(config: TrainConfig) -> LoraConfig:
    """The LoRA matrices peft adds to the base model (the config's ``lora_*`` fields)."""
    from peft import LoraConfig

    return LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(config.target_modules),
        task_type="CAUSAL_LM",
    )


def training_arguments(
    config: TrainConfig, output_dir: Path, processes: int, resuming: bool
) -> TrainingArguments:
    """Arguments for a run of ``config`` by ``processes`` processes writing to ``output_dir``."""
    gpu = torch.cuda.is_available()
    return TrainingArguments(
        output_dir=str(output_dir),
        # the optimization
        max_steps=config.max_steps,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        warmup_steps=config.warmup_steps,
        lr_scheduler_type="cosine",  # to zero at max_steps
        optim="adamw_torch",
        max_grad_norm=1.0,
        seed=config.seed,
        # the batch: batch_size per pass, accumulated to the global batch (see TrainConfig)
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.accumulation(processes),
        average_tokens_across_devices=True,  # each completion token weighs the same everywhere
        # the dev loss (see CompletionLoss), at step 0 and every eval_every steps
        eval_strategy="steps",
        eval_steps=config.eval_every,
        eval_on_start=not resuming,  # a resumed run already measured its starting point
        per_device_eval_batch_size=1,  # no padding; CompletionLoss weighs tokens, not examples
        prediction_loss_only=True,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        load_best_model_at_end=True,  # the adapter is the best dev-loss checkpoint
        # checkpoints every checkpoint_every steps; the latest and the best are kept
        save_strategy="steps",
        save_steps=config.checkpoint_every,
        save_total_limit=2,
        restore_callback_states_from_checkpoint=True,  # early stopping's count survives a resume
        # dtype: bfloat16 autocast or float32
        bf16=config.dtype == "bfloat16",
        # where: CPU processes talk over gloo, GPUs over NCCL (accelerate's default there)
        use_cpu=not gpu,
        ddp_backend="gloo" if processes > 1 and not gpu else None,
        ddp_find_unused_parameters=False,  # every LoRA matrix gets a gradient at every step
        dataloader_pin_memory=gpu,
        # the data are pre-tokenized Encoded items that the Collator turns into tensors
        remove_unused_columns=False,
        label_names=["labels"],
        # progress: a bar and one log line per step on the first process, nothing sent anywhere
        logging_strategy="steps",
        logging_steps=1,
        disable_tqdm=False,
        report_to="none",
        log_level="warning",
        log_level_replica="error",
    )

"""The training config: its rules, the global batch, and its one mapping onto the trainer."""

from __future__ import annotations

import ast
from itertools import pairwise
from pathlib import Path

import pytest

from specialist.errors import UserError
from training.arguments import lora_config, training_arguments
from training.config import TrainConfig, load_config

ROOT = Path(__file__).resolve().parents[2]


def test_global_batch_stays_fixed_when_the_process_count_changes() -> None:
    config = TrainConfig(batch_size=2, global_batch=8)
    assert [config.accumulation(n) for n in (1, 2, 4)] == [4, 2, 1]
    assert {config.global_batch_for(n) for n in (1, 2, 4)} == {8}
    with pytest.raises(UserError, match="global_batch 8 is not a multiple of batch_size 2 x 3"):
        config.accumulation(3)


def test_fixed_accumulation_scales_the_global_batch_with_the_processes() -> None:
    config = TrainConfig(batch_size=2, grad_accumulation=3)
    assert [config.global_batch_for(n) for n in (1, 2)] == [6, 12]
    assert TrainConfig(batch_size=2).global_batch_for(2) == 4


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"grad_accumulation": 2, "global_batch": 8}, "not both"),
        ({"global_batch": 0}, "global_batch must be at least 1"),
        ({"eval_every": 20, "checkpoint_every": 30}, "must be a multiple of eval_every"),
    ],
)
def test_contradictory_settings_are_refused(values: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        TrainConfig(**values)


def test_shipped_config_keeps_the_shipped_global_batch() -> None:
    config = load_config(ROOT / "configs" / "default.json")
    assert config.global_batch_for(1) == config.global_batch_for(2) == 8


def test_every_config_field_is_documented() -> None:
    tree = ast.parse((ROOT / "training" / "config.py").read_text())
    body = next(node for node in tree.body if getattr(node, "name", "") == "TrainConfig").body
    documented = {
        field.target.id
        for field, after in pairwise(body)
        if isinstance(field, ast.AnnAssign)
        and isinstance(after, ast.Expr)
        and isinstance(after.value, ast.Constant)
    }
    assert documented == set(TrainConfig().to_dict())


def test_config_maps_onto_trainer_arguments(tmp_path: Path) -> None:
    config = TrainConfig(
        batch_size=2,
        global_batch=8,
        learning_rate=1e-3,
        max_steps=30,
        warmup_steps=3,
        eval_every=5,
        checkpoint_every=10,
        dtype="float32",
    )
    args = training_arguments(config, tmp_path, processes=1, resuming=False)
    assert (args.per_device_train_batch_size, args.gradient_accumulation_steps) == (2, 4)
    assert (args.max_steps, args.learning_rate, args.warmup_steps) == (30, 1e-3, 3)
    assert (args.eval_steps, args.save_steps, args.eval_on_start) == (5, 10, True)
    assert args.load_best_model_at_end and args.metric_for_best_model == "eval_loss"
    assert args.seed == config.seed and not args.bf16
    assert not training_arguments(config, tmp_path, processes=1, resuming=True).eval_on_start
    lora = lora_config(config)
    assert (lora.r, lora.lora_alpha, sorted(lora.target_modules)) == (
        16,
        32,
        ["k_proj", "o_proj", "q_proj", "v_proj"],
    )

"""Batches, loss and checkpoints: the pieces the project hands to the Hugging Face trainer."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch
from accelerate.data_loader import BatchSamplerShard
from torch.utils.data import BatchSampler

from training.batches import IGNORE, Collator, Encoded, GlobalBatchSampler, encode
from training.checkpoints import resumable
from training.data import Example
from training.loss import CompletionLoss

from .conftest import tiny_examples


def test_collator_keeps_logits_only_where_a_completion_token_comes_next() -> None:
    items = [Encoded([5, 6, 7, 8], prompt_length=2), Encoded([5, 6, 7], prompt_length=1)]
    batch = Collator(pad_id=0)(items)
    assert batch["labels"].tolist() == [[IGNORE, IGNORE, 7, 8], [IGNORE, 6, 7, IGNORE]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 1, 0]]
    assert batch["logits_to_keep"].tolist() == [
        [False, True, True, False],
        [True, True, False, False],
    ]


@pytest.mark.slow
def test_completion_loss_equals_cross_entropy_on_full_logits(base_model) -> None:
    model, tokenizer = base_model
    items = [encode(Example(**e), tokenizer, 160) for e in tiny_examples()[:3]]
    collate = Collator(tokenizer.pad_token_id)
    batch = collate(items)
    tokens = int((batch["labels"][:, 1:] != IGNORE).sum())
    with torch.no_grad():
        full = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    reference = torch.nn.functional.cross_entropy(
        full[:, :-1].reshape(-1, full.shape[-1]),
        batch["labels"][:, 1:].reshape(-1),
        ignore_index=IGNORE,
    )
    labels = batch.pop("labels")
    kept = model(**batch)
    loss = CompletionLoss(dev_tokens_per_example=1.0, processes=1)(kept, labels, tokens)
    assert kept.logits.shape == (tokens, full.shape[-1])
    assert torch.allclose(loss, reference, atol=1e-5)

    # dev loss: the trainer multiplies each pass's value by the process count and averages
    # over the single-example passes; that must give the mean per token over all of them
    processes = 2
    dev = CompletionLoss(dev_tokens_per_example=tokens / len(items), processes=processes)
    passes = []
    with torch.no_grad():
        for item in items:
            one = collate([item])
            one_labels = one.pop("labels")
            passes.append(processes * float(dev(model(**one), one_labels, tokens)))
    assert sum(passes) / len(passes) == pytest.approx(float(reference), rel=1e-5)


def _steps(sampler: GlobalBatchSampler, per_pass: int, processes: int) -> list[set[int]]:
    """Examples of each optimizer step when ``processes`` processes share the global batch."""
    global_batch = sampler.batch_size
    shards = [
        list(BatchSamplerShard(BatchSampler(sampler, per_pass, False), processes, rank))
        for rank in range(processes)
    ]
    passes_per_step = global_batch // (per_pass * processes)
    steps = []
    for start in range(0, len(shards[0]), passes_per_step):
        step = set()
        for shard in shards:
            for batch in shard[start : start + passes_per_step]:
                step.update(batch)
        steps.append(step)
    return steps


def test_each_step_sees_the_same_examples_with_one_or_two_processes() -> None:
    lengths = [random.Random(i).randint(50, 500) for i in range(64)]
    sampler = GlobalBatchSampler(lengths, global_batch=8, seed=3)
    assert _steps(sampler, per_pass=4, processes=1) == _steps(sampler, per_pass=4, processes=2)
    assert _steps(sampler, per_pass=2, processes=1) == _steps(sampler, per_pass=4, processes=2)


def test_order_is_set_by_seed_and_epoch_and_groups_lengths() -> None:
    lengths = [random.Random(i).randint(50, 500) for i in range(200)]
    sampler = GlobalBatchSampler(lengths, global_batch=8, seed=3)
    sampler.set_epoch(1)
    epoch_one = list(sampler)
    sampler.set_epoch(0)
    assert list(GlobalBatchSampler(lengths, 8, seed=3)) == list(sampler) != epoch_one
    sampler.set_epoch(1)
    assert list(sampler) == epoch_one
    assert sorted(epoch_one) == list(range(200))

    def padded(order: list[int]) -> int:
        return sum(8 * max(lengths[i] for i in order[s : s + 8]) for s in range(0, 200, 8))

    shuffled = random.Random(0).sample(range(200), 200)
    assert padded(epoch_one) < 0.8 * padded(shuffled)


def _checkpoint(run_dir: Path, step: int, state: str | None) -> None:
    folder = run_dir / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    (folder / "adapter_model.safetensors").write_bytes(b"weights")
    if state is not None:
        (folder / "trainer_state.json").write_text(state)


def test_resume_skips_checkpoints_interrupted_while_written(tmp_path: Path) -> None:
    _checkpoint(tmp_path, 2, json.dumps({"global_step": 2}))
    _checkpoint(tmp_path, 10, json.dumps({"global_step": 10}))
    _checkpoint(tmp_path, 12, None)
    _checkpoint(tmp_path, 14, '{"global_st')
    assert resumable(tmp_path, tidy=False) == tmp_path / "checkpoint-10"
    assert (tmp_path / "checkpoint-14").is_dir()
    assert resumable(tmp_path, tidy=True) == tmp_path / "checkpoint-10"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-10", "checkpoint-2"]
    assert resumable(tmp_path / "missing", tidy=True) is None

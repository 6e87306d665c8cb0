"""Real (tiny) LoRA training runs on SmolLM2: loss, adapter files, failures, resume, atomicity."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from engine.loader import load_specialist
from specialist.adapters import ADAPTER_WEIGHTS, METRICS, AdapterRegistry
from specialist.errors import UserError
from specialist.prompt import render, summary_request
from training import trainer
from training.config import TrainConfig

from .conftest import TINY_CONFIG, tiny_examples

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_training_lowers_loss_and_writes_a_complete_adapter(trained) -> None:
    settings, result = trained
    summary = result.metrics["train"]
    assert summary["steps"] == 6
    assert summary["best_dev_loss"] < summary["dev_loss_before"]
    for name in ("adapter_config.json", ADAPTER_WEIGHTS, METRICS, "train_log.jsonl"):
        assert (result.path / name).is_file()
    assert (result.path / "loss_curve.png").read_bytes().startswith(b"\x89PNG")
    metrics = json.loads((result.path / METRICS).read_text())
    assert metrics["base_model"] == settings.base_model
    assert metrics["data"][0]["examples"] == 8
    assert len(metrics["data"][0]["sha256"]) == 64
    assert metrics["hyperparameters"]["lora_r"] == 8
    assert AdapterRegistry(settings).current() == result.version
    assert not list((settings.home / "training").glob("*/checkpoint-*"))


def test_dev_loss_is_per_completion_token_over_the_dev_set(trained, base_model) -> None:
    from training.batches import Collator, encode_fitting
    from training.data import Example

    _, result = trained
    model, tokenizer = base_model
    config = TrainConfig(**TINY_CONFIG)
    examples = [Example(**e) for e in tiny_examples()]
    _, dev = trainer.split_dev(
        encode_fitting(examples, tokenizer, config.max_seq_length)[0], config
    )
    batch = Collator(tokenizer.pad_token_id)(dev)
    # the trainer computes in the config's dtype: bfloat16 autocast where the CPU has it natively
    bfloat16 = config.dtype == "bfloat16"
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16):
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    before = torch.nn.functional.cross_entropy(
        logits[:, :-1].float().reshape(-1, logits.shape[-1]),
        batch["labels"][:, 1:].reshape(-1),
        ignore_index=-100,
    )
    # LoRA starts as a no-op, so the trainer's step-0 dev loss is the base model's
    assert result.metrics["train"]["dev_loss_before"] == pytest.approx(float(before), rel=1e-4)


def test_adapter_loads_and_changes_the_model(trained, base_model) -> None:
    settings, result = trained
    settings = settings.model_copy(update={"serve_dtype": "float32"})  # compare logits exactly
    specialist = load_specialist(settings)
    assert specialist.adapter_version == result.version
    model, tokenizer = base_model
    document = "#Person1#: I love kiwis.\n#Person2#: I hate kiwis."
    prompt = render(tokenizer, summary_request(document))
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).input_ids
    unmerged = load_specialist(settings, result.version, merge=False).model
    with torch.no_grad():
        base_logits = model(ids).logits[0, -1]
        merged_logits = specialist.model(ids).logits[0, -1]
        unmerged_logits = unmerged(ids).logits[0, -1]
    assert not torch.allclose(base_logits, merged_logits, atol=1e-3)
    assert torch.allclose(merged_logits, unmerged_logits, atol=1e-2)


def test_malformed_data_fails_with_file_and_line_and_leaves_no_adapter(make_home, tmp_path) -> None:
    settings = make_home()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "a", "completion": "b"}\n{"prompt": "a", "completion": 3}\n')
    with pytest.raises(UserError, match=rf"^{bad}:2: "):
        trainer.train(settings, [bad], TrainConfig(max_steps=1))
    store = AdapterRegistry(settings).store
    assert store.list() == []
    assert store.current() is None
    assert not list(settings.adapters_dir.glob(".tmp-*"))


def test_examples_too_long_are_left_out_with_a_warning(base_model, caplog) -> None:
    from training.batches import encode_fitting
    from training.data import Example

    _, tokenizer = base_model
    short = Example(summary_request("#Person1#: Hi.\n#Person2#: Hello."), "They greet.")
    long = Example(summary_request("#Person1#: " + "word " * 400), "One talks.")
    with caplog.at_level("WARNING", logger="training.batches"):
        fitting, dropped = encode_fitting([short, long, short], tokenizer, 160)
    assert (len(fitting), dropped) == (2, 1)
    assert "1 of 3 examples (33.3%) are longer than max_seq_length=160" in caplog.text


def test_empty_dataset_is_a_clear_error(make_home, tmp_path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(UserError, match="holds no examples"):
        trainer.train(make_home(), [empty], TrainConfig(max_steps=1))


def test_current_never_points_at_a_half_written_adapter(
    make_home, tiny_data, tiny_config, monkeypatch
) -> None:
    settings = make_home()
    store = AdapterRegistry(settings).store
    first = trainer.train(settings, [tiny_data], replace(tiny_config, max_steps=1))
    versions = store.list()

    def crash(*_args: object) -> None:
        raise RuntimeError("disk full while drawing the loss curve")

    monkeypatch.setattr(trainer, "plot_loss_curve", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        trainer.train(settings, [tiny_data], replace(tiny_config, max_steps=2))
    assert store.current() == first.version
    assert store.list() == versions
    assert not list(settings.adapters_dir.glob(".tmp-*"))


def test_killed_run_resumes_from_its_last_checkpoint(
    make_home, tiny_data, tiny_config, tmp_path
) -> None:
    settings = make_home()
    config = replace(tiny_config, eval_every=1, checkpoint_every=1, max_steps=5)
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config.to_dict()))
    env = {**os.environ, "SPECIALIST_HOME": str(settings.home), "SPECIALIST_THREADS": "1"}
    command = [sys.executable, "-m", "specialist.cli", "train", "--data", str(tiny_data)]
    command += ["--config", str(config_file)]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    checkpoints = settings.home / "training"
    deadline = time.monotonic() + 240
    try:
        while not list(checkpoints.glob("*/checkpoint-*/trainer_state.json")):
            assert process.poll() is None, "the run ended before its first checkpoint"
            assert time.monotonic() < deadline, "no checkpoint within 240 s"
            time.sleep(0.2)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    assert AdapterRegistry(settings).store.list() == []

    result = trainer.train(settings, [tiny_data], config, resume=True)
    summary = result.metrics["train"]
    assert summary["steps"] == 5
    assert len(summary["resumed_from_steps"]) == 1
    assert 1 <= summary["resumed_from_steps"][0] < 5
    log = [json.loads(line) for line in (result.path / "train_log.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in log if "loss" in entry] == [1, 2, 3, 4, 5]

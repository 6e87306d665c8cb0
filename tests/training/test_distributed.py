"""DDP on the real model: 2 gloo processes under torchrun, against 1 process, and a kill -9 mid-run.

The crash kills every process of the job at once, launcher and workers, as a power cut or a job
scheduler does (torchrun starts each worker in a session of its own, so a kill of the launcher's
process group alone would leave the workers training).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from specialist.adapters import METRICS, AdapterRegistry
from training import trainer
from training.config import TrainConfig

from .conftest import TINY_CONFIG

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DDP_CONFIG = {
    **{k: v for k, v in TINY_CONFIG.items() if k != "grad_accumulation"},
    "batch_size": 1,
    "global_batch": 2,
    "lora_dropout": 0.0,  # no dropout noise: 1 and 2 processes must take the very same steps
    "max_steps": 4,
    "eval_every": 2,
    "checkpoint_every": 2,
}


def torchrun(settings, data: Path, config: dict, tmp_path: Path, *extra: str) -> subprocess.Popen:
    """``torchrun --nproc_per_node 2 -m specialist train`` as a child process."""
    config_file = tmp_path / "ddp_config.json"
    config_file.write_text(json.dumps(config))
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    command += ["-m", "specialist", "train", "--data", str(data), "--config", str(config_file)]
    env = {
        **os.environ,
        "SPECIALIST_HOME": str(settings.home),
        "SPECIALIST_THREADS": "1",
        "OMP_NUM_THREADS": "1",
    }
    return subprocess.Popen(
        [*command, *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finished(process: subprocess.Popen) -> str:
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, output[-3000:]
    return output


def current_adapter(settings) -> tuple[dict, list[dict]]:
    registry = AdapterRegistry(settings)
    folder = registry.store.path(registry.current())
    log = [json.loads(line) for line in (folder / "train_log.jsonl").read_text().splitlines()]
    return json.loads((folder / METRICS).read_text()), log


def losses(log: list[dict]) -> list[tuple[int, str, float]]:
    return [
        (row["step"], key, row[key]) for row in log for key in ("loss", "dev_loss") if key in row
    ]


def test_two_processes_take_the_same_steps_as_one(make_home, tiny_data, tmp_path) -> None:
    ddp_home = make_home()
    output = finished(torchrun(ddp_home, tiny_data, DDP_CONFIG, tmp_path))
    assert output.count("written to") == 1  # only the first process reports
    single = trainer.train(make_home(), [tiny_data], TrainConfig(**DDP_CONFIG))
    metrics, log = current_adapter(ddp_home)
    assert metrics["processes"] == 2
    assert (metrics["train"]["global_batch"], metrics["train"]["grad_accumulation"]) == (2, 1)
    assert single.metrics["train"]["grad_accumulation"] == 2
    single_log = [json.loads(line) for line in (single.path / "train_log.jsonl").open()]
    assert [(s, k) for s, k, _ in losses(log)] == [(s, k) for s, k, _ in losses(single_log)]
    for (_, _, ddp), (_, _, one) in zip(losses(log), losses(single_log), strict=True):
        assert ddp == pytest.approx(one, abs=2e-4)


def test_killed_ddp_run_resumes_while_the_previous_adapter_keeps_serving(
    make_home, tiny_data, tmp_path
) -> None:
    settings = make_home()
    registry = AdapterRegistry(settings)
    registry.ensure_default()
    previous = registry.current()
    config = {**DDP_CONFIG, "max_steps": 6, "eval_every": 1, "checkpoint_every": 1}
    process = torchrun(settings, tiny_data, config, tmp_path)
    deadline = time.monotonic() + 300
    try:
        while not list((settings.home / "training").glob("*/checkpoint-*/trainer_state.json")):
            assert process.poll() is None, "the run ended before its first checkpoint"
            assert time.monotonic() < deadline, "no checkpoint within 300 s"
            time.sleep(0.2)
        job = psutil.Process(process.pid)
        for member in [job, *job.children(recursive=True)]:
            member.send_signal(signal.SIGKILL)
    finally:
        process.communicate()
    assert registry.current() == previous
    assert registry.store.list() == [previous]

    finished(torchrun(settings, tiny_data, config, tmp_path, "--resume"))
    metrics, log = current_adapter(settings)
    assert registry.current() != previous
    assert metrics["processes"] == 2 and metrics["train"]["steps"] == 6
    assert len(metrics["train"]["resumed_from_steps"]) == 1
    assert 1 <= metrics["train"]["resumed_from_steps"][0] < 6
    assert [row["step"] for row in log if "loss" in row] == [1, 2, 3, 4, 5, 6]

    # the resumed run replays the same examples in the same order as a run never killed
    uninterrupted = trainer.train(make_home(), [tiny_data], TrainConfig(**config))
    reference = [json.loads(line) for line in (uninterrupted.path / "train_log.jsonl").open()]
    for (step, key, value), (_, _, expected) in zip(losses(log), losses(reference), strict=True):
        assert value == pytest.approx(expected, abs=2e-4), (step, key)

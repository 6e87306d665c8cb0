"""Fixtures for training tests: tiny real data, a tiny config, homes that share the model cache."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from specialist.prompt import summary_request

FRUITS = ["apples", "pears", "plums", "cherries", "grapes", "lemons", "melons", "figs"]


def tiny_examples() -> list[dict[str, str]]:
    """Short dialogues with a fixed summary pattern: easy to learn in a few steps."""
    return [
        {
            "prompt": summary_request(f"#Person1#: I love {fruit}.\n#Person2#: I hate {fruit}."),
            "completion": f"#Person1# loves {fruit} but #Person2# hates them.",
        }
        for fruit in FRUITS
    ]


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    """Eight prompt/completion pairs as JSONL."""
    path = tmp_path / "tiny.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in tiny_examples()))
    return path


TINY_CONFIG = {
    "lora_r": 8,
    "lora_alpha": 16,
    "learning_rate": 0.002,
    "batch_size": 2,
    "grad_accumulation": 1,
    "max_seq_length": 160,
    "max_steps": 6,
    "warmup_steps": 1,
    "eval_every": 3,
    "checkpoint_every": 3,
    "dev_fraction": 0.25,
    "dev_max": 2,
    "early_stopping_patience": 0,
    "dtype": "auto",
}


@pytest.fixture
def tiny_config():
    """A config that trains in seconds on :func:`tiny_examples`."""
    from training.config import TrainConfig

    return TrainConfig(**TINY_CONFIG)


@pytest.fixture(scope="session")
def make_home(settings, base_model, tmp_path_factory) -> Callable[[], object]:
    """New empty homes whose model cache is the session's (converted once by ``base_model``)."""
    from specialist.settings import load_settings

    def make():
        home = tmp_path_factory.mktemp("train-home")
        (home / "cache").symlink_to(settings.cache_dir, target_is_directory=True)
        return load_settings(home=home, threads=1)

    return make


@pytest.fixture(scope="session")
def trained(make_home, tmp_path_factory):
    """One tiny real training run shared by the tests that only read its adapter."""
    from training.config import TrainConfig
    from training.trainer import train

    data = tmp_path_factory.mktemp("data") / "tiny.jsonl"
    data.write_text("".join(json.dumps(e) + "\n" for e in tiny_examples()))
    settings = make_home()
    return settings, train(settings, [data], TrainConfig(**TINY_CONFIG))

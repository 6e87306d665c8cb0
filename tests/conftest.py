"""Session-wide fixtures: an empty home folder, offline hub, and the real models loaded once.

Every test session starts from an empty ``SPECIALIST_HOME`` so that first-use conversion of the
packaged GGUF model is exercised on every run, exactly as a new user meets it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session", autouse=True)
def specialist_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh home folder for the whole session, exported for subprocesses too."""
    home = tmp_path_factory.mktemp("home")
    previous = os.environ.get("SPECIALIST_HOME")
    os.environ["SPECIALIST_HOME"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("SPECIALIST_HOME", None)
    else:
        os.environ["SPECIALIST_HOME"] = previous


@pytest.fixture(scope="session")
def settings(specialist_home: Path):
    """Default settings pointing at the session's home."""
    from specialist.settings import load_settings

    return load_settings(home=specialist_home)


@pytest.fixture(scope="session")
def base_model(settings):
    """The default base model (SmolLM2-135M-Instruct) and tokenizer, loaded once."""
    from specialist.models import load_base_model

    return load_base_model(settings)


@pytest.fixture(scope="session")
def embedder(settings):
    """The packaged all-MiniLM-L6-v2 sentence embedder, loaded once."""
    from specialist.models import load_embedder

    return load_embedder(settings)

"""Small real corpora written per test, indexed with the session's real embedder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


def write_files(folder: Path, files: dict[str, str | bytes]) -> Path:
    """Create ``files`` (relative path -> text or bytes) below ``folder``."""
    for rel, content in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return folder


ARTICLES = {
    "rivers.md": "# Rivers\n\nThe Rhine flows from the Swiss Alps to the North Sea.\n\n"
    "## Navigation\n\nBarges carry coal and grain along the lower Rhine.\n",
    "space.md": "# Space flight\n\nThe Apollo program landed twelve astronauts on the Moon.\n",
    "notes/cooking.txt": "Bread needs flour, water, salt and yeast, and a hot oven.\n",
}


@pytest.fixture
def write():
    """The file-writing helper, as a fixture (test modules cannot import conftest)."""
    return write_files


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """Three documents in two folders."""
    return write_files(tmp_path / "docs", ARTICLES)


@pytest.fixture
def index_root(tmp_path: Path) -> Path:
    """A version store of its own for each test."""
    return tmp_path / "index"


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Embedding a handful of chunks: one thread avoids OpenMP spinning on a shared 2-core box."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

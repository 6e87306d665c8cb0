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


def pdf_bytes(stream: bytes, filters: str = "") -> bytes:
    """A valid one-page PDF whose content stream is ``stream`` (Helvetica, xref offsets computed).

    ``filters`` names the stream's encoding (``"/Filter /FlateDecode"`` for a zlib stream).
    """
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",  # without a font pypdf reads no content
        b"<< /Length %d %s >>\nstream\n" % (len(stream), filters.encode())
        + stream
        + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


@pytest.fixture
def make_pdf():
    """The PDF builder, as a fixture."""
    return pdf_bytes

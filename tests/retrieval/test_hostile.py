"""Hostile documents: each is skipped with its reason, or indexed in bounded time and memory.

Time is bounded with SIGALRM, which interrupts even a runaway regular expression, so a quadratic
regression fails here instead of hanging the suite. Peak memory is Linux's VmHWM, reset before the
measured step by writing 5 to ``/proc/self/clear_refs``; where that is refused only time is checked.
"""

from __future__ import annotations

import io
import itertools
import json
import signal
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from retrieval.chunking import PIECE_CHARS, Chunker
from retrieval.indexer import _Build, build_index
from retrieval.loaders import MAX_LABEL_CHARS, SkipFile, load_documents
from retrieval.search import open_index

FIVE_MB = 5 * 1024 * 1024


def build(settings, folder: Path, root: Path, embedder):
    return build_index(settings, folder, progress=False, embedder=embedder, root=root)


def _peak_rss_kb() -> int | None:
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return None


@contextmanager
def bounded(seconds: float, megabytes: float) -> Iterator[None]:
    """Fail the block if it runs over ``seconds`` or raises peak memory by over ``megabytes``."""

    def expire(signum, frame) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    try:
        Path("/proc/self/clear_refs").write_text("5")
        before = _peak_rss_kb()
    except OSError:
        before = None
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    after = _peak_rss_kb()
    if before is not None and after is not None:
        grown = (after - before) / 1024
        assert grown < megabytes, f"peak memory grew by {grown:.0f} MB"


def _zeros_deflated(megabytes: int, *, raw_zip: bool) -> bytes:
    """``megabytes`` MB of zero bytes compressed, as a zip archive or a zlib stream."""
    block = bytes(1024 * 1024)
    if raw_zip:
        archive = io.BytesIO()
        with (
            zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bomb,
            bomb.open("payload.bin", "w") as member,
        ):
            for _ in range(megabytes):
                member.write(block)
        return archive.getvalue()
    packer = zlib.compressobj(9)
    return b"".join(packer.compress(block) for _ in range(megabytes)) + packer.flush()


def test_zip_bomb_named_pdf_is_skipped_uninflated(settings, embedder, corpus, index_root) -> None:
    bomb = _zeros_deflated(300, raw_zip=True)
    assert len(bomb) < 1024 * 1024, "the archive itself is small; its member is 300 MB"
    (corpus / "x.pdf").write_bytes(bomb)
    with bounded(seconds=60, megabytes=150):
        report = build(settings, corpus, index_root, embedder)
    assert dict(report.skipped)["x.pdf"] == "not a PDF (no %PDF- header)"
    assert report.files_indexed == 3


def test_pdf_whose_stream_inflates_past_the_limit_is_skipped(make_pdf) -> None:
    pdf = make_pdf(_zeros_deflated(300, raw_zip=False), "/Filter /FlateDecode")
    with bounded(seconds=30, megabytes=600), pytest.raises(SkipFile, match="decompression limit"):
        load_documents(Path("bomb.pdf"), "bomb.pdf", pdf)


def test_2gb_sparse_file_is_skipped_without_reading(
    settings, embedder, corpus, index_root, monkeypatch
) -> None:
    with open(corpus / "big.txt", "wb") as big:
        big.truncate(2 * 1024**3)  # sparse: no disk used
    read: list[str] = []
    real_read = _Build._read

    def recording_read(self, path: Path, stat):
        read.append(path.name)
        return real_read(self, path, stat)

    monkeypatch.setattr(_Build, "_read", recording_read)
    with bounded(seconds=60, megabytes=150):
        report = build(settings, corpus, index_root, embedder)
    assert dict(report.skipped)["big.txt"] == f"larger than the {settings.max_file_mb:g} MB limit"
    assert "big.txt" not in read and len(read) == 3
    assert report.files_indexed == 3


def test_files_that_vanish_or_grow_after_the_scan(
    settings, embedder, corpus, index_root, monkeypatch
) -> None:
    scan = _Build._scan

    def scan_then_change(self):
        found = scan(self)
        (corpus / "space.md").unlink()
        with open(corpus / "notes" / "cooking.txt", "r+b") as grown:
            grown.truncate(2 * 1024**3)
        return found

    monkeypatch.setattr(_Build, "_scan", scan_then_change)
    with bounded(seconds=60, megabytes=200):  # a grown file is read only to one byte past the cap
        report = build(settings, corpus, index_root, embedder)
    reasons = dict(report.skipped)
    assert reasons["space.md"] == "unreadable (No such file or directory)"
    assert reasons["notes/cooking.txt"].startswith("larger than the")
    assert report.files_indexed == 1
    index = open_index(settings, embedder, root=index_root)
    assert {c.source for c in index.chunks} == {"rivers.md"}

    monkeypatch.undo()
    again = build(settings, corpus, index_root, embedder)
    assert "space.md" not in dict(again.skipped), "gone for good: no longer listed"
    assert dict(again.skipped)["notes/cooking.txt"].startswith("larger than the")


@pytest.mark.parametrize("name", ["a.txt", "a.md", "a.rst", "a.html"])
def test_invalid_utf8_in_the_middle_is_a_reason_not_a_crash(name: str) -> None:
    data = b"Glaciers carve valleys. " * 200 + b"\xff\xfe\xc3(" + b" Fjords follow. " * 200
    with pytest.raises(SkipFile, match=r"^not valid UTF-8 text$"):
        load_documents(Path(name), name, data)


def test_invalid_utf8_file_is_skipped_and_the_rest_indexed(
    settings, embedder, corpus, index_root, write
) -> None:
    write(corpus, {"mixed.txt": b"Glaciers carve valleys.\n\xff\xfe\xc3(\nFjords follow.\n"})
    report = build(settings, corpus, index_root, embedder)
    assert dict(report.skipped)["mixed.txt"] == "not valid UTF-8 text"
    assert report.files_indexed == 3
    index = open_index(settings, embedder, root=index_root)
    assert not [c for c in index.chunks if "Glaciers" in c.text]


def test_html_script_text_is_not_indexed(settings, embedder, corpus, index_root, write) -> None:
    page = (
        "<html><head><title>Harbour guide</title>"
        '<script>var tracker = "xylophonequartz";</script>'
        '<script type="application/ld+json">{"name": "jsonldmarker"}</script></head>'
        "<body><h1>Harbour</h1><p>The harbour pilot boards at dawn.</p>"
        '<SCRIPT>document.write("uppercasemarker </p> still inside the script")</SCRIPT>'
        "<p>Ferries leave hourly.</p><script>unclosedmarker()"
    )
    write(corpus, {"page.html": page})
    report = build(settings, corpus, index_root, embedder)
    assert "page.html" not in dict(report.skipped)
    index = open_index(settings, embedder, root=index_root)
    text = " ".join(c.embed_text for c in index.chunks if c.source == "page.html")
    assert "harbour pilot boards at dawn" in text and "Ferries leave hourly" in text
    for marker in ("xylophonequartz", "jsonldmarker", "uppercasemarker", "still inside"):
        assert marker not in text, marker
    assert "unclosedmarker" not in " ".join(c.embed_text for c in index.chunks)
    assert index.retrieve("harbour pilot", 1, "bm25", None)[0].source == "page.html"


@pytest.mark.parametrize(
    "case",
    ["words", "one word", "heading with a run of spaces", "five megabyte heading"],
)
def test_markdown_of_one_5mb_line_chunks_in_bounded_time_and_memory(
    settings, embedder, case: str
) -> None:
    text = {
        "words": ("Lorem ipsum dolor sit amet. " * (FIVE_MB // 28 + 1))[:FIVE_MB],
        "one word": "x" * FIVE_MB,  # a single [UNK] to the tokenizer
        # quadratic for a heading pattern that backtracks over trailing spaces
        "heading with a run of spaces": "# Tides" + " " * FIVE_MB + "end\nThe tide turns at noon.",
        "five megabyte heading": "# " + "tide " * (FIVE_MB // 5) + "\n\nThe tide turns at noon.",
    }[case] + "\n"
    chunker = Chunker(embedder.tokenizer, settings.chunk_tokens, settings.chunk_overlap)
    with bounded(seconds=30, megabytes=400):
        [doc] = load_documents(Path("line.md"), "line.md", text.encode())
        chunks = chunker.chunk([doc], "line.md")
    assert chunks
    assert all(len(s.heading) <= MAX_LABEL_CHARS for s in doc.sections)
    for chunk in chunks:
        assert chunk.text == text[chunk.start : chunk.end]
        assert len(chunk.embed_text) <= chunker.max_chars + 2 * MAX_LABEL_CHARS + 1
    body = doc.sections[-1]
    covered = sum(c.end - c.start for c in chunks)
    assert covered <= 2 * (body.end - body.start), "overlap never multiplies the text"
    if case == "words":
        assert len(chunks) > 1000 and chunks[-1].end == len(text) - 1
        for before, after in itertools.pairwise(chunks):
            assert before.start < after.start <= before.end, "in order, overlapping, no gaps"
    elif case == "one word":  # one [UNK] per tokenized piece, each kept to its first max_chars
        assert [c.start for c in chunks] == list(range(0, FIVE_MB, PIECE_CHARS))
    else:
        assert [c.text for c in chunks] == ["The tide turns at noon."]


def test_beir_separators_load_and_one_bad_record_is_reported(
    settings, embedder, tmp_path, index_root, write
) -> None:
    texts = {
        "nel": "Puffins nest\u0085on cliffs.",
        "ls": "Walruses haul out\u2028on ice floes.",
        "ps": "Narwhals dive deep.\u2029Their tusk is a tooth.",
    }
    records = [json.dumps({"_id": k, "text": v}, ensure_ascii=False) for k, v in texts.items()]
    data = (
        b"\xef\xbb\xbf"  # a byte order mark
        + records[0].encode()
        + b"\r\n"
        + b'{"_id": "latin1", "text": "caf\xe9 cr\xe8me"}\n'
        + records[1].encode()
        + b'\n{"_id": "nul", "text": "a\x00b"}\n'
        + records[2].encode()
        + b"\n"
    )
    folder = write(tmp_path / "beir", {"corpus.jsonl": data})
    report = build(settings, folder, index_root, embedder)
    assert report.skipped == [
        ("corpus.jsonl", "line 2 left out: not valid UTF-8"),
        ("corpus.jsonl", "line 4 left out: not a BEIR record with _id and text"),
    ]
    index = open_index(settings, embedder, root=index_root)
    assert {c.doc_id: c.text for c in index.chunks} == texts
    for word, doc_id in (("cliffs", "nel"), ("floes", "ls"), ("tooth", "ps")):
        assert index.retrieve(word, 1, "bm25", None)[0].doc_id == doc_id, word

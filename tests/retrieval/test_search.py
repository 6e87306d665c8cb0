"""Hybrid search: exact identifiers that dense search misses, filters, hit fields, threads."""

from __future__ import annotations

import threading

import torch

from retrieval.indexer import build_index
from retrieval.search import open_index

PUMP_DOCS = {
    "errors/overview.md": "# Error codes\n\nError codes tell you why the pump stopped. "
    "Look up the error code in the manual and follow the fix it describes.\n",
    "errors/reset.md": "# Resetting after an error\n\nAfter any error code appears, switch the "
    "pump off, wait ten seconds and switch it on again.\n",
    "errors/display.md": "# Reading the display\n\nThe display shows an error code when the "
    "controller detects a fault in the pump.\n",
    "errors/support.md": "# Support\n\nIf an error code keeps coming back, call support with "
    "the serial number of the pump.\n",
    "appendix/firmware.md": "# Firmware table\n\nRevision notes: entry QX-7731-B was added in "
    "release 4, covering the impeller bearing.\n",
}


def test_hybrid_finds_exact_identifier_dense_misses(settings, embedder, tmp_path, write):
    root = tmp_path / "index"
    docs = write(tmp_path / "docs", PUMP_DOCS)
    build_index(settings, docs, progress=False, embedder=embedder, root=root)
    index = open_index(settings, embedder, root=root)
    query = "pump error code QX-7731-B"
    dense = [h.source for h in index.retrieve(query, k=3, mode="dense")]
    hybrid = {h.source: h for h in index.search(query, k=3)}
    assert "appendix/firmware.md" not in dense, "the generic pages outrank it by meaning"
    found = hybrid["appendix/firmware.md"]
    assert found.bm25_score == max(h.bm25_score or 0 for h in hybrid.values())
    assert found.dense_score is not None


def test_hits_carry_location_and_filter_by_source(settings, embedder, corpus, index_root):
    build_index(settings, corpus, progress=False, embedder=embedder, root=index_root)
    index = open_index(settings, embedder, root=index_root)
    assert index.num_chunks == 4 and index.version
    [hit] = index.search("barges carrying coal", k=1)
    assert (hit.source, hit.title, hit.heading) == ("rivers.md", "Rivers", "Rivers > Navigation")
    original = (corpus / "rivers.md").read_text()
    assert original[hit.start : hit.end] == hit.text
    only_notes = index.search("Rhine", k=5, source_prefix="notes/")
    assert [h.source for h in only_notes] == ["notes/cooking.txt"]
    assert index.search("zzzz qqqq", k=3, source_prefix="nothing/") == []


def test_hnsw_above_threshold(settings, embedder, corpus, index_root):
    approximate = settings.model_copy(update={"hnsw_above": 1})
    build_index(approximate, corpus, progress=False, embedder=embedder, root=index_root)
    index = open_index(approximate, embedder, root=index_root)
    assert index.meta["dense_index"] == "IndexHNSWFlat"
    assert index.retrieve("Moon landing astronauts", k=1, mode="dense")[0].source == "space.md"


def test_dense_search_gives_the_caller_its_thread_count_back(
    settings, embedder, corpus, index_root
):
    """faiss's OpenMP calls land in torch's runtime: a query pinned to one thread must not leave
    the answer generated next on the same thread with one torch thread."""
    build_index(settings, corpus, progress=False, embedder=embedder, root=index_root)
    index = open_index(settings, embedder, root=index_root)
    seen: list[int] = []

    def search_on_two_threads() -> None:
        torch.set_num_threads(2)
        index.retrieve("Moon landing astronauts", k=1, mode="dense")
        seen.append(torch.get_num_threads())

    worker = threading.Thread(target=search_on_two_threads)
    worker.start()
    worker.join()
    assert seen == [2]

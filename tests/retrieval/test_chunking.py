"""Chunking: windows fit the embedder, overlap, keep spans and context, ids are stable."""

from __future__ import annotations

import itertools
from pathlib import Path

from retrieval.chunking import Chunker
from retrieval.loaders import load_documents


def test_chunks_fit_embedder_and_point_into_the_file(embedder) -> None:
    sentences = " ".join(
        f"Sentence {i} mentions the lighthouse keeper's logbook." for i in range(120)
    )
    text = f"# Lighthouse\n\n## Records\n\n{sentences}\n"
    docs = load_documents(Path("l.md"), "l.md", text.encode())
    chunker = Chunker(embedder.tokenizer, max_tokens=128, overlap=16)
    chunks = chunker.chunk(docs, "l.md")
    assert len(chunks) > 3
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.heading == "Lighthouse > Records"
        assert chunk.embed_text.startswith("Lighthouse > Records\n")
        assert len(embedder.tokenizer(chunk.embed_text)["input_ids"]) <= 128
    for before, after in itertools.pairwise(chunks):
        assert after.start < before.end, "neighbouring chunks overlap"
    assert chunks[-1].end == len(text.rstrip("\n"))
    again = chunker.chunk(load_documents(Path("l.md"), "l.md", text.encode()), "l.md")
    assert [c.chunk_id for c in again] == [c.chunk_id for c in chunks]

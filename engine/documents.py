"""Whole documents out of an index version: what a summary of a source, or of a topic, reads.

An index stores chunks, overlapping windows of each document's sections; the summarizer wants
each document once, in order. :func:`whole_source` puts a source's chunks back together (overlaps
removed, sections apart), and :func:`documents_about` picks the sources a topic is about.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from engine.answering import covered
from engine.summarize import Document
from specialist.errors import NotFoundError

if TYPE_CHECKING:
    from retrieval.search import HybridIndex

TOPIC_HITS = 8
"""Chunks retrieved to decide which sources a topic is about."""
MOST_SOURCES = 3
SECOND_SOURCE_HITS = 2
SOURCE_MARGIN = 0.15
"""A source beyond the best one joins a topic's summary only with ``SECOND_SOURCE_HITS`` of its
chunks hit, each within ``SOURCE_MARGIN`` (cosine) of the best hit's similarity to the topic."""


class UnknownSourceError(NotFoundError):
    """No document in the serving index has this source id (HTTP 404)."""


def whole_source(index: HybridIndex, source: str, n: int = 1) -> Document:
    """The text of ``source`` (as citations name it) rebuilt from its chunks, numbered ``n``."""
    chunks = sorted(
        (c for c in index.chunks if c.source == source), key=lambda c: (c.doc_id, c.start)
    )
    if not chunks:
        raise UnknownSourceError(f"source {source!r} is not in index version {index.version}")
    pieces: list[str] = []
    cursor, document = 0, None
    for chunk in chunks:
        if chunk.doc_id != document or chunk.start > cursor:  # another document, or a gap
            document, cursor = chunk.doc_id, chunk.start
            pieces.append("")
        if chunk.end > cursor:  # chunks overlap: only the part after what is already there
            pieces[-1] += chunk.text[cursor - chunk.start :]
            cursor = chunk.end
    text = "\n\n".join(piece.strip() for piece in pieces if piece.strip())
    return Document(n, text, source, chunks[0].title)


def documents_about(
    index: HybridIndex, topic: str, min_relevance: float, source_prefix: str | None = None
) -> list[Document]:
    """The sources ``topic`` is about, best first: the top hit's source, and up to two more that
    several of the top chunks, nearly as close to the topic, come from. Empty when nothing
    retrieved is relevant enough."""
    hits = index.search(topic, k=TOPIC_HITS, source_prefix=source_prefix)
    if not covered(hits, min_relevance):
        return []
    best = max(hit.dense_score for hit in hits if hit.dense_score is not None)
    floor = max(min_relevance, best - SOURCE_MARGIN)
    close = [hit for hit in hits if hit.dense_score is not None and hit.dense_score >= floor]
    counts = Counter(hit.source for hit in close)
    chosen = [hits[0].source]
    for hit in close:
        if hit.source not in chosen and counts[hit.source] >= SECOND_SOURCE_HITS:
            chosen.append(hit.source)
        if len(chosen) == MOST_SOURCES:
            break
    return [whole_source(index, source, n) for n, source in enumerate(chosen, start=1)]

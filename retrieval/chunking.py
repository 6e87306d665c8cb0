"""Token-aware chunking with the embedder's own tokenizer.

A chunk is what the embedder reads in one pass: ``title > heading`` on the first line, then a
window of the section's text, all within ``max_tokens`` word pieces including ``[CLS]``/``[SEP]``
(all-MiniLM-L6-v2 truncates beyond 256, so a longer chunk would be embedded only in part).
Windows overlap, and end at a sentence end when one lies in the last quarter of the window.
Chunk ids hash the source, span and text, so they stay the same while a file does not change.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

from retrieval.loaders import Document

_SENTENCE_ENDS = frozenset(".!?")


@dataclass(frozen=True)
class Chunk:
    """A passage of one document with where it came from; ``start``/``end`` index its text."""

    chunk_id: str
    file: str
    source: str
    doc_id: str
    title: str
    heading: str
    text: str
    start: int
    end: int

    @property
    def context(self) -> str:
        """Title and heading path, without repeating a title that the heading path starts with."""
        if not self.heading:
            return self.title
        if self.heading.split(" > ")[0] == self.title:
            return self.heading
        return f"{self.title} > {self.heading}"

    @property
    def embed_text(self) -> str:
        """What the embedder and BM25 read: context line, then the passage."""
        return f"{self.context}\n{self.text}"

    @property
    def embed_key(self) -> str:
        """Content key of ``embed_text``: equal keys may share one embedding across versions."""
        return hashlib.sha1(self.embed_text.encode()).hexdigest()[:24]

    def to_record(self) -> dict:
        """JSON form stored in an index version."""
        return asdict(self)


class Chunker:
    """Splits documents into :class:`Chunk` windows measured in the embedder's word pieces."""

    def __init__(self, tokenizer, max_tokens: int = 256, overlap: int = 32) -> None:
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.overlap = overlap
        self.specials = tokenizer.num_special_tokens_to_add(pair=False)

    def chunk(self, documents: list[Document], file: str) -> list[Chunk]:
        """All chunks of the documents of one file, in reading order."""
        jobs = [(doc, section) for doc in documents for section in doc.sections]
        if not jobs:
            return []
        bodies = [doc.text[s.start : s.end] for doc, s in jobs]
        encoded = self.tokenizer(
            bodies, add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )["offset_mapping"]
        contexts = [self._context(doc, section.heading) for doc, section in jobs]
        context_pieces = self.tokenizer(contexts, add_special_tokens=False, verbose=False)[
            "input_ids"
        ]
        chunks: list[Chunk] = []
        for (doc, section), body, offsets, context_ids in zip(
            jobs, bodies, encoded, context_pieces, strict=True
        ):
            # One piece of slack: tokenizing "context\ntext" may split differently at the seam.
            budget = self.max_tokens - self.specials - len(context_ids) - 1
            budget = max(budget, self.max_tokens // 2)
            for first, last in self._windows(body, offsets, budget):
                start = section.start + offsets[first][0]
                end = section.start + offsets[last - 1][1]
                chunks.append(self._make(doc, file, section.heading, start, end))
        return chunks

    def _context(self, doc: Document, heading: str) -> str:
        probe = Chunk("", "", "", "", doc.title, heading, "", 0, 0)
        return probe.context

    def _windows(self, text: str, offsets: list[tuple[int, int]], budget: int):
        """Token index ranges ``[first, last)`` covering all tokens, each at most ``budget`` long."""
        count = len(offsets)
        first = 0
        while first < count:
            last = min(first + budget, count)
            if last < count:
                for j in range(last, first + (budget * 3) // 4, -1):
                    if text[offsets[j - 1][0] : offsets[j - 1][1]] in _SENTENCE_ENDS:
                        last = j
                        break
            yield first, last
            if last >= count:
                return
            first = max(last - self.overlap, first + 1)

    def _make(self, doc: Document, file: str, heading: str, start: int, end: int) -> Chunk:
        text = doc.text[start:end]
        digest = hashlib.sha1(f"{doc.source}\0{start}\0{end}\0{text}".encode()).hexdigest()[:16]
        return Chunk(digest, file, doc.source, doc.doc_id, doc.title, heading, text, start, end)

"""Token-aware chunking with the embedder's own tokenizer.

A chunk is what the embedder reads in one pass: ``title > heading`` on the first line, then a
window of the section's text, all within ``max_tokens`` word pieces including ``[CLS]``/``[SEP]``
(all-MiniLM-L6-v2 truncates beyond 256, so a longer chunk would be embedded only in part).
Windows overlap, and end at a sentence end when one lies in the last quarter of the window.
Chunk ids hash the source, span and text, so they stay the same while a file does not change.

Cost stays linear in the text, whatever its shape. Text is tokenized at most :data:`PIECE_CHARS`
characters per call, cut at whitespace, and only the pieces' character spans are kept, as integer
arrays. A window also ends once it spans :data:`CHARS_PER_TOKEN` characters per token of
``max_tokens`` (only runs of whitespace and over-long words, one ``[UNK]`` each, get there; one
word piece wider than that is cut), and overlaps its neighbour by at most half its length, so short
windows cannot multiply the text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np

from retrieval.loaders import Document

_SENTENCE_ENDS = frozenset(".!?")
PIECE_CHARS = 100_000
"""Most characters tokenized in one call: tokenizer output for a whole 5 MB line took ~900 MB at
once; in pieces, keeping only the spans, chunking that line peaks under 100 MB."""
CHARS_PER_TOKEN = 32
"""A window spans at most this many characters per token of ``max_tokens`` (8 KB at 256)."""


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
        self.max_chars = max_tokens * CHARS_PER_TOKEN

    def chunk(self, documents: list[Document], file: str) -> list[Chunk]:
        """All chunks of the documents of one file, in reading order."""
        jobs = [(doc, section) for doc in documents for section in doc.sections]
        if not jobs:
            return []
        bodies = [doc.text[s.start : s.end] for doc, s in jobs]
        spans = self._spans(bodies)
        contexts = [self._context(doc, section.heading) for doc, section in jobs]
        context_pieces = self.tokenizer(contexts, add_special_tokens=False, verbose=False)[
            "input_ids"
        ]
        chunks: list[Chunk] = []
        for (doc, section), body, (starts, ends), context_ids in zip(
            jobs, bodies, spans, context_pieces, strict=True
        ):
            # One piece of slack: tokenizing "context\ntext" may split differently at the seam.
            budget = self.max_tokens - self.specials - len(context_ids) - 1
            budget = max(budget, self.max_tokens // 2)
            for first, last in self._windows(body, starts, ends, budget):
                start = section.start + int(starts[first])
                # a single [UNK] longer than the cap is cut: the rest is one unreadable word
                end = section.start + min(int(ends[last - 1]), int(starts[first]) + self.max_chars)
                chunks.append(self._make(doc, file, section.heading, start, end))
        return chunks

    def _spans(self, bodies: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Start and end character of every word piece of each body, as two int64 arrays.

        Pieces of all bodies are tokenized together, up to :data:`PIECE_CHARS` characters a call.
        """
        found: list[list[np.ndarray]] = [[] for _ in bodies]
        batch: list[tuple[int, int, str]] = []  # (body, piece start, piece)
        size = 0

        def flush() -> None:
            encoded = self.tokenizer(
                [piece for _, _, piece in batch],
                add_special_tokens=False,
                return_offsets_mapping=True,
                return_attention_mask=False,
                return_token_type_ids=False,
                verbose=False,
            )["offset_mapping"]
            for (body, offset, _), pairs in zip(batch, encoded, strict=True):
                found[body].append(np.asarray(pairs, dtype=np.int64).reshape(-1, 2) + offset)

        for body, text in enumerate(bodies):
            for start, end in _pieces(text, PIECE_CHARS):
                batch.append((body, start, text[start:end]))
                size += end - start
                if size >= PIECE_CHARS:
                    flush()
                    batch, size = [], 0
        if batch:
            flush()
        spans = []
        for parts in found:
            joined = np.concatenate(parts) if parts else np.zeros((0, 2), dtype=np.int64)
            spans.append((joined[:, 0], joined[:, 1]))
        return spans

    def _context(self, doc: Document, heading: str) -> str:
        probe = Chunk("", "", "", "", doc.title, heading, "", 0, 0)
        return probe.context

    def _windows(
        self, text: str, starts: np.ndarray, ends: np.ndarray, budget: int
    ) -> Iterator[tuple[int, int]]:
        """Token index ranges ``[first, last)`` covering all tokens, each at most ``budget`` long.

        A window holds at least one token, and no more than fit in ``max_chars`` characters.
        """
        count = len(starts)
        first = 0
        while first < count:
            fitting = int(np.searchsorted(ends, starts[first] + self.max_chars, side="right"))
            last = min(first + budget, count, max(fitting, first + 1))
            if last < count:
                for j in range(last, first + (budget * 3) // 4, -1):
                    if text[starts[j - 1] : ends[j - 1]] in _SENTENCE_ENDS:
                        last = j
                        break
            yield first, last
            if last >= count:
                return
            first = max(last - min(self.overlap, (last - first) // 2), first + 1)

    def _make(self, doc: Document, file: str, heading: str, start: int, end: int) -> Chunk:
        text = doc.text[start:end]
        digest = hashlib.sha1(f"{doc.source}\0{start}\0{end}\0{text}".encode()).hexdigest()[:16]
        return Chunk(digest, file, doc.source, doc.doc_id, doc.title, heading, text, start, end)


def _pieces(text: str, limit: int) -> Iterator[tuple[int, int]]:
    """``[start, end)`` spans covering ``text``, each at most ``limit`` characters.

    A span ends before the last space or newline that leaves it non-empty, so no word is split
    (the next piece starts with the whitespace, as the tokenizer would see it in the whole text).
    """
    start = 0
    while len(text) - start > limit:
        cut = max(
            text.rfind(" ", start + 1, start + limit), text.rfind("\n", start + 1, start + limit)
        )
        end = cut if cut > start else start + limit
        yield start, end
        start = end
    if start < len(text):
        yield start, len(text)

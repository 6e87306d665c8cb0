"""Every chunk's sentences, embedded when the index is built, for the extractive reader.

The reader compares the question with each sentence of the retrieved chunks. Embedding those ~25
sentences took half of a lone answer's time (0.28 of 0.56 s on 2 cores), on every question whose
chunks had not been seen yet. Embedded once at index time, a question only embeds itself. The
sentences are the reader's (:func:`specialist.text.sentences` of the chunk's text, stripped), and
they are embedded as the reader embeds on the fly, so either way gives it the same vectors.

Three files per version, read memory-mapped::

    sentence_vectors.npy   float32 (sentences, dim), L2-normalized
    sentence_spans.npy     int64 (sentences, 2), each sentence's span in its chunk's text
    sentence_offsets.npy   int64 (chunks + 1), chunk i's sentences are rows offsets[i]:offsets[i+1]

The spans are kept so that a reader whose sentence splitter has changed since the index was built
notices (the spans differ) and embeds the new sentences instead of using the wrong vectors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from specialist.text import sentences

VECTORS = "sentence_vectors.npy"
SPANS = "sentence_spans.npy"
OFFSETS = "sentence_offsets.npy"


def sentence_texts(text: str, spans: Sequence[tuple[int, int]]) -> list[str]:
    """The sentences the reader reads: each span of ``text``, stripped (its candidates' texts, and
    what the index embeds for them)."""
    return [text[start:end].strip() for start, end in spans]


@dataclass(frozen=True)
class StoredSentences:
    """The sentence vectors of one index version, chunk by chunk."""

    vectors: np.ndarray
    spans: np.ndarray
    offsets: np.ndarray

    def block(self, row: int, spans: Sequence[tuple[int, int]]) -> np.ndarray | None:
        """The vectors of chunk ``row``'s sentences, if they were split into ``spans``."""
        low, high = int(self.offsets[row]), int(self.offsets[row + 1])
        stored = self.spans[low:high]
        if len(stored) != len(spans) or not np.array_equal(
            stored, np.asarray(spans).reshape(-1, 2)
        ):
            return None
        return np.asarray(self.vectors[low:high])

    def write(self, folder: Path) -> None:
        """Write the three files into ``folder`` (a version being built)."""
        np.save(folder / VECTORS, self.vectors.astype(np.float32, copy=False))
        np.save(folder / SPANS, self.spans.astype(np.int64, copy=False))
        np.save(folder / OFFSETS, self.offsets.astype(np.int64, copy=False))

    @classmethod
    def read(cls, folder: Path) -> StoredSentences | None:
        """The sentence vectors of a version; None for a version built before they were stored."""
        if not (folder / OFFSETS).exists():
            return None
        return cls(
            np.load(folder / VECTORS, mmap_mode="r"),
            np.load(folder / SPANS, mmap_mode="r"),
            np.load(folder / OFFSETS),
        )


def assemble(
    texts: Sequence[str],
    previous: Sequence[tuple[int, str]],
    stored: StoredSentences | None,
    embed: Callable[[list[str]], np.ndarray],
    dim: int,
) -> tuple[StoredSentences, int]:
    """The sentence vectors of chunks ``texts``, reusing the previous version's where they hold,
    and the number of sentences embedded.

    ``previous[i]`` is (row, text) of chunk i in the previous version, or (-1, "") for a chunk
    that is new; a row is reused when its text and its split are unchanged, and every other
    chunk's sentences are embedded in one call.
    """
    splits = [sentences(text) for text in texts]
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(spans) for spans in splits])
    vectors = np.zeros((int(offsets[-1]), dim), dtype=np.float32)
    pending: list[tuple[int, list[str]]] = []
    for i, (text, spans) in enumerate(zip(texts, splits, strict=True)):
        row, old_text = previous[i]
        block = stored.block(row, spans) if stored is not None and row >= 0 else None
        if block is not None and old_text == text:
            vectors[offsets[i] : offsets[i + 1]] = block
        else:
            pending.append((i, sentence_texts(text, spans)))
    fresh = [sentence for _, found in pending for sentence in found]
    if fresh:
        embedded = embed(fresh)
        start = 0
        for i, found in pending:
            vectors[offsets[i] : offsets[i + 1]] = embedded[start : start + len(found)]
            start += len(found)
    flat = [span for spans in splits for span in spans]
    spans = np.asarray(flat, dtype=np.int64).reshape(-1, 2)
    return StoredSentences(vectors, spans, offsets), len(fresh)

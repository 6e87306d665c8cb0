"""Hybrid search over one index version: dense (FAISS) and lexical (BM25) fused by weighted RRF.

Dense search finds paraphrases; BM25 finds exact names, codes and rare words that a 384-d sentence
embedding blurs. Reciprocal rank fusion combines the two rankings without calibrating their score
scales: ``score = w_dense / (k + rank_dense) + w_bm25 / (k + rank_bm25)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from retrieval import artifacts
from retrieval.chunking import Chunk
from retrieval.sentences import StoredSentences
from specialist.settings import Settings
from specialist.text import sentences

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

Ranking = list[tuple[int, float]]
"""(row, score) pairs, best first."""


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk; ``start``/``end`` are its character span in the source's text."""

    chunk_id: str
    source: str
    title: str
    heading: str
    text: str
    score: float
    dense_score: float | None
    bm25_score: float | None
    start: int
    end: int
    doc_id: str = ""


def open_index(
    settings: Settings, embedder: SentenceTransformer | None = None, root: Path | None = None
) -> HybridIndex | None:
    """The current index version, or None when nothing was indexed yet.

    Loads memory-mapped embeddings, the FAISS file and the BM25 arrays (well under a second for
    tens of thousands of chunks); pass the already loaded embedder to skip loading it again.
    """
    from retrieval.indexer import index_store

    path = index_store(settings, root).current_path()
    if path is None:
        return None
    if embedder is None:
        from specialist.models import load_embedder

        embedder = load_embedder(settings)
    return HybridIndex(path, settings, embedder)


class HybridIndex:
    """A loaded, read-only index version; safe to share between threads for searching."""

    def __init__(self, path: Path, settings: Settings, embedder: SentenceTransformer) -> None:
        import faiss

        self.path = path
        self.version = path.name
        self.settings = settings
        self.embedder = embedder
        self.meta = artifacts.read_json(path, artifacts.META)
        self.chunks: list[Chunk] = artifacts.read_chunks(path)
        self.num_chunks = len(self.chunks)
        self._embeddings = artifacts.read_embeddings(path)
        self._dense = faiss.read_index(str(path / artifacts.DENSE))
        if hasattr(self._dense, "hnsw"):
            self._dense.hnsw.efSearch = artifacts.HNSW_EF_SEARCH
        self._bm25 = artifacts.read_bm25(path)
        self._sources = np.array([c.source for c in self.chunks])
        self._sentences = StoredSentences.read(path)
        self._row_by_chunk_id = {chunk.chunk_id: row for row, chunk in enumerate(self.chunks)}
        self._document_frequency: np.ndarray | None = None

    @property
    def folder(self) -> str:
        """The folder this version indexes."""
        return self.meta["folder"]

    def search(self, query: str, k: int = 5, source_prefix: str | None = None) -> list[Hit]:
        """The ``k`` best chunks for ``query`` by fused dense and BM25 rank."""
        return self.retrieve(query, k, "hybrid", source_prefix)

    def retrieve(
        self, query: str, k: int = 5, mode: str = "hybrid", source_prefix: str | None = None
    ) -> list[Hit]:
        """Search with one method: ``hybrid``, ``dense`` or ``bm25``."""
        if k < 1:
            return []
        depth = max(k, self.settings.fusion_depth)
        mask = self._mask(source_prefix)
        dense = self.dense_rank(self.embed([query])[0], depth, mask) if mode != "bm25" else []
        lexical = self.bm25_rank(query, depth, mask) if mode != "dense" else []
        if mode == "hybrid":
            fused = self.fuse(dense, lexical)
        elif mode in ("dense", "bm25"):
            fused = dense or lexical
        else:
            raise ValueError(f"unknown search mode {mode!r}")
        return self.hits(fused[:k], dense, lexical)

    def embed(self, queries: list[str]) -> np.ndarray:
        """Normalized query embeddings (batch them when there are many)."""
        vectors = self.embedder.encode(
            queries, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(queries), -1)

    def stored_sentence_vectors(self, hit: Hit) -> np.ndarray | None:
        """The vectors of ``hit``'s sentences embedded when this version was built.

        None when ``hit`` is not one of this version's chunks as it was indexed (evaluation
        withholds answers from hit texts), or the version predates sentence vectors.
        """
        row = self._row_by_chunk_id.get(hit.chunk_id)
        if self._sentences is None or row is None or self.chunks[row].text != hit.text:
            return None
        return self._sentences.block(row, sentences(hit.text))

    def idf(self, terms: list[str]) -> list[float]:
        """Inverse document frequency, ``log(1 + chunks / chunks holding the term)``, per term.

        ``terms`` are :func:`retrieval.artifacts.bm25_tokens` output; a term no chunk holds
        weighs as much as one held by a single chunk. Read off the BM25 index, so it costs no pass
        over the chunks.
        """
        if self._document_frequency is None:
            self._document_frequency = np.diff(np.asarray(self._bm25.scores["indptr"]))
        vocabulary = self._bm25.vocab_dict
        chunks = max(1, self.num_chunks)
        frequencies = [
            int(self._document_frequency[vocabulary[t]]) if t in vocabulary else 0 for t in terms
        ]
        return [float(np.log1p(chunks / max(1, f))) for f in frequencies]

    def _mask(self, source_prefix: str | None) -> np.ndarray | None:
        if not source_prefix:
            return None
        return np.char.startswith(self._sources, source_prefix)

    def dense_rank(self, vector: np.ndarray, depth: int, mask: np.ndarray | None = None) -> Ranking:
        """Rows by inner product with ``vector`` (exact over ``mask`` when a filter is given)."""
        if self.num_chunks == 0:
            return []
        if mask is not None:
            rows = np.flatnonzero(mask)
            scores = self._embeddings[rows] @ vector
            return _top(rows, scores, depth)
        with one_openmp_thread():
            scores, rows = self._dense.search(vector.reshape(1, -1), min(depth, self.num_chunks))
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]

    def bm25_rank(self, query: str, depth: int, mask: np.ndarray | None = None) -> Ranking:
        """Rows by BM25 score; rows sharing no term with the query are left out."""
        return lexical_rank(self._bm25, query, depth, mask)

    def fuse(self, dense: Ranking, lexical: Ranking) -> Ranking:
        """Fuse with the configured weights and k."""
        return rrf(
            [(self.settings.dense_weight, dense), (self.settings.bm25_weight, lexical)],
            self.settings.rrf_k,
        )

    def hits(self, ranking: Ranking, dense: Ranking, lexical: Ranking) -> list[Hit]:
        """Turn ranked rows into :class:`Hit` objects carrying each retriever's raw score."""
        dense_scores, lexical_scores = dict(dense), dict(lexical)
        hits = []
        for row, score in ranking:
            chunk = self.chunks[row]
            hits.append(
                Hit(
                    chunk_id=chunk.chunk_id,
                    source=chunk.source,
                    title=chunk.title,
                    heading=chunk.heading,
                    text=chunk.text,
                    score=float(score),
                    dense_score=dense_scores.get(row),
                    bm25_score=lexical_scores.get(row),
                    start=chunk.start,
                    end=chunk.end,
                    doc_id=chunk.doc_id,
                )
            )
        return hits


@contextmanager
def one_openmp_thread() -> Iterator[None]:
    """Run a faiss query on one OpenMP thread, then give the calling thread its count back.

    One thread is several times faster for a single query (measured). The count must be
    restored: once torch is imported, faiss's OpenMP calls resolve to torch's libgomp, so the
    setting is the calling thread's torch thread count too, and leaving it at 1 made the
    answer generated after retrieval on the same thread ~1.4x slower per token.
    """
    import faiss

    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


def lexical_rank(bm25, query: str, depth: int, mask: np.ndarray | None = None) -> Ranking:
    """Rows of a bm25s index by score for ``query``, zero scores left out."""
    vocab = bm25.vocab_dict
    terms = [t for t in artifacts.bm25_tokens([query])[0] if t in vocab]
    if not terms:
        return []
    scores = bm25.get_scores(terms)
    rows = np.flatnonzero(scores > 0) if mask is None else np.flatnonzero((scores > 0) & mask)
    return _top(rows, scores[rows], depth)


def rrf(weighted: list[tuple[float, Ranking]], k: int) -> Ranking:
    """Weighted reciprocal rank fusion: each ranking adds ``weight / (k + rank)`` per row."""
    fused: dict[int, float] = {}
    for weight, ranking in weighted:
        for rank, (row, _) in enumerate(ranking, 1):
            fused[row] = fused.get(row, 0.0) + weight / (k + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def _top(rows: np.ndarray, scores: np.ndarray, depth: int) -> Ranking:
    """The ``depth`` best (row, score) pairs, best first, ties by row."""
    if len(rows) > depth:
        keep = np.argpartition(-scores, depth - 1)[:depth]
        rows, scores = rows[keep], scores[keep]
    order = np.lexsort((rows, -scores))
    return [(int(rows[i]), float(scores[i])) for i in order]

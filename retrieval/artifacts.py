"""The files of one index version, written by the indexer and read by the searcher.

::

    meta.json         folder, embedder, chunking settings, counts, dense index kind
    manifest.json     {relative path: {size, mtime_ns, sha256, skipped}} for incremental reuse
    chunks.json       chunk records, row i matches embedding row i
    embeddings.npy    float32 (rows, 384), L2-normalized; reused for unchanged chunks
    dense.faiss       exact inner product (IndexFlatIP) or HNSW above ``hnsw_above`` rows
    bm25/             bm25s index over "title > heading" plus chunk text, English stemming
    sentence_*.npy    each chunk's sentences embedded for the extractive reader (retrieval.sentences)
"""

from __future__ import annotations

import json
import logging
from functools import cache
from importlib import metadata
from pathlib import Path

import numpy as np

from retrieval.chunking import Chunk

FORMAT = 1
META = "meta.json"
MANIFEST = "manifest.json"
CHUNKS = "chunks.json"
EMBEDDINGS = "embeddings.npy"
DENSE = "dense.faiss"
BM25_DIR = "bm25"
HNSW_M = 32
HNSW_EF_SEARCH = 128


def compatibility(settings) -> dict:
    """What must match for a previous version's chunks and embeddings to be reused."""
    from specialist.models import EMBEDDER_NAME, EMBEDDER_PACKAGE

    try:
        embedder_version = metadata.version(EMBEDDER_PACKAGE)
    except metadata.PackageNotFoundError:
        embedder_version = None
    return {
        "format": FORMAT,
        "embedder": f"{EMBEDDER_NAME}=={embedder_version}",
        "chunk_tokens": settings.chunk_tokens,
        "chunk_overlap": settings.chunk_overlap,
    }


@cache
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def _bm25s():
    """bm25s, with its logger (set to DEBUG on import) brought back to the application's level."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.NOTSET)
    return bm25s


def bm25_tokens(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stop-word-free, Snowball-stemmed terms; the same for documents and queries."""
    bm25s = _bm25s()
    return bm25s.tokenize(texts, stemmer=_stemmer(), return_ids=False, show_progress=False)


def lexical_params(settings) -> dict:
    """BM25 parameters a version was built with; a change rebuilds the version (no re-embedding)."""
    return {"k1": settings.bm25_k1, "b": settings.bm25_b}


def build_bm25(tokens: list[list[str]], k1: float, b: float):
    """A bm25s index over documents given as :func:`bm25_tokens` output."""
    lexical = _bm25s().BM25(k1=k1, b=b)
    lexical.index(tokens, show_progress=False)
    return lexical


def build_dense(embeddings: np.ndarray, hnsw_above: int):
    """Exact search while it is fast enough (see bench/index_bench.py), HNSW beyond."""
    import faiss

    dim = embeddings.shape[1]
    if len(embeddings) > hnsw_above:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        index = faiss.IndexFlatIP(dim)
    index.add(np.ascontiguousarray(embeddings, dtype=np.float32))
    return index


def write_version(
    folder: Path,
    meta: dict,
    manifest: dict,
    chunks: list[Chunk],
    embeddings: np.ndarray,
    settings,
) -> None:
    """Write every artifact of a version into ``folder`` (a temporary folder of the store)."""
    import faiss

    np.save(folder / EMBEDDINGS, embeddings.astype(np.float32, copy=False))
    dense = build_dense(embeddings, settings.hnsw_above)
    faiss.write_index(dense, str(folder / DENSE))
    params = lexical_params(settings)
    lexical = build_bm25(bm25_tokens([c.embed_text for c in chunks]), **params)
    lexical.save(str(folder / BM25_DIR), show_progress=False)
    (folder / CHUNKS).write_text(json.dumps([c.to_record() for c in chunks]))
    (folder / MANIFEST).write_text(json.dumps(manifest))
    meta = {**meta, "dense_index": type(dense).__name__, "lexical": params}
    (folder / META).write_text(json.dumps(meta, indent=2))


def read_json(folder: Path, name: str):
    """One JSON artifact of a version."""
    return json.loads((folder / name).read_text())


def read_chunks(folder: Path) -> list[Chunk]:
    """Chunk records of a version, in embedding-row order."""
    return [Chunk(**record) for record in read_json(folder, CHUNKS)]


def read_embeddings(folder: Path) -> np.ndarray:
    """Embedding matrix of a version, memory-mapped (rows are copied only when reused)."""
    return np.load(folder / EMBEDDINGS, mmap_mode="r")


def read_bm25(folder: Path):
    """The lexical index of a version."""
    return _bm25s().BM25.load(str(folder / BM25_DIR), show_progress=False)

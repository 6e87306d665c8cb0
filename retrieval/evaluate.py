"""Retrieval quality on a BEIR dataset: nDCG@10, Recall@10/100 and MRR@10 per search method.

The corpus is indexed with the product's own indexer into a scratch version store under the home
folder (so the served index is untouched and a second run reuses every embedding), then each
judged query is searched densely, lexically and by the fused ranking. Chunks are mapped to their
BEIR document ids, a document ranking where its best chunk ranks.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from dataclasses import dataclass
from pathlib import Path

from retrieval import artifacts
from retrieval.indexer import build_index
from retrieval.loaders import BEIR_CORPUS_NAME, jsonl_lines
from retrieval.metrics import dedupe, score_run
from retrieval.search import HybridIndex, Ranking, lexical_rank, open_index, rrf
from specialist.errors import UserError
from specialist.settings import Settings

EVAL_DEPTH = 300
"""Chunks each method returns per query: enough for 100 distinct documents in Recall@100."""

SWEEP_DENSE_WEIGHTS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
SWEEP_RRF_KS = (5, 10, 20, 40, 60, 100)
SWEEP_BM25 = tuple((k1, b) for k1 in (0.9, 1.2, 1.5, 2.0) for b in (0.4, 0.6, 0.75, 0.9))


def eval_index_root(settings: Settings, beir: Path) -> Path:
    """Scratch index of a BEIR corpus, kept apart from the product's index and reused next time."""
    resolved = beir.expanduser().resolve()
    digest = hashlib.sha1(str(resolved).encode()).hexdigest()[:8]
    return settings.home / "eval-indexes" / f"{resolved.name}-{digest}"


@dataclass
class BeirQueries:
    """The judged queries of one split."""

    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def load_beir_queries(beir: Path, split: str) -> BeirQueries:
    """Queries and relevance judgements of ``split``, with a clear error for a wrong layout."""
    qrels_path = beir / "qrels" / f"{split}.tsv"
    for needed in (beir / BEIR_CORPUS_NAME, beir / "queries.jsonl", qrels_path):
        if not needed.is_file():
            raise UserError(
                f"{beir} is not a BEIR dataset with split {split!r}: {needed} is missing"
            )
    qrels: dict[str, dict[str, int]] = {}
    for _, line in list(jsonl_lines(qrels_path.read_text(encoding="utf-8-sig")))[1:]:
        parts = line.split("\t")
        if len(parts) == 3 and parts[2].strip().lstrip("-").isdigit():
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    queries = {}
    queries_path = beir / "queries.jsonl"
    for number, line in jsonl_lines(queries_path.read_text(encoding="utf-8-sig")):
        try:
            record = json.loads(line)
            query_id, text = str(record["_id"]), str(record["text"])
        except (ValueError, KeyError, TypeError) as exc:
            raise UserError(
                f"{queries_path} line {number} is not a query with _id and text "
                f"({type(exc).__name__})"
            ) from None
        if query_id in qrels:
            queries[query_id] = text
    if not queries:
        raise UserError(f"no query of {qrels_path} appears in {beir / 'queries.jsonl'}")
    return BeirQueries(queries, qrels)


@dataclass
class Rankings:
    """Dense and BM25 chunk rankings of every query, computed once and fused in many ways."""

    index: HybridIndex
    dense: dict[str, Ranking]
    lexical: dict[str, Ranking]

    def run(self, ranking_of) -> dict[str, list[str]]:
        """Document-id run from a function of (dense, lexical) rankings to one ranking."""
        chunks = self.index.chunks
        return {
            q: dedupe([chunks[row].doc_id for row, _ in ranking_of(self.dense[q], self.lexical[q])])
            for q in self.dense
        }


def rank_queries(index: HybridIndex, queries: dict[str, str], depth: int = EVAL_DEPTH) -> Rankings:
    """Search every query with both retrievers (query embeddings in one batch)."""
    ids = list(queries)
    vectors = index.embed([queries[q] for q in ids])
    dense = {q: index.dense_rank(v, depth) for q, v in zip(ids, vectors, strict=True)}
    lexical = {q: index.bm25_rank(queries[q], depth) for q in ids}
    return Rankings(index, dense, lexical)


def evaluate_beir(
    settings: Settings,
    beir: Path,
    split: str = "test",
    *,
    progress: bool = True,
    sweep: bool = False,
) -> dict:
    """Index (incrementally) and score dense, BM25 and hybrid; optionally sweep fusion settings."""
    beir = beir.expanduser()
    if not beir.is_dir():
        raise UserError(f"cannot evaluate on {beir}: no such folder")
    data = load_beir_queries(beir, split)
    started = time.perf_counter()
    root = eval_index_root(settings, beir)
    report = build_index(settings, beir, progress=progress, root=root)
    index = open_index(settings, root=root)
    assert index is not None
    rankings = rank_queries(index, data.queries)
    w_dense, w_bm25, k = settings.dense_weight, settings.bm25_weight, settings.rrf_k
    rows = {
        "dense": score_run(rankings.run(lambda d, _: d), data.qrels),
        "bm25": score_run(rankings.run(lambda _, lex: lex), data.qrels),
        "hybrid": score_run(
            rankings.run(lambda d, lex: rrf([(w_dense, d), (w_bm25, lex)], k)), data.qrels
        ),
    }
    result = {
        "dataset": str(beir.resolve()),
        "split": split,
        "queries": len(data.queries),
        "index_version": index.version,
        "chunks": index.num_chunks,
        "fusion": {"dense_weight": w_dense, "bm25_weight": w_bm25, "rrf_k": k},
        "bm25": artifacts.lexical_params(settings),
        "chunking": {
            "chunk_tokens": settings.chunk_tokens,
            "chunk_overlap": settings.chunk_overlap,
        },
        "depth": EVAL_DEPTH,
        "reranker": None,
        "rows": rows,
        "index_seconds": round(report.seconds, 2),
        "seconds": round(time.perf_counter() - started, 2),
    }
    if sweep:
        result["sweep"] = sorted(
            (
                {
                    "dense_weight": wd,
                    "rrf_k": rk,
                    **score_run(
                        rankings.run(lambda d, lex, wd=wd, rk=rk: rrf([(wd, d), (1.0, lex)], rk)),
                        data.qrels,
                    ),
                }
                for wd, rk in itertools.product(SWEEP_DENSE_WEIGHTS, SWEEP_RRF_KS)
            ),
            key=lambda row: -row["ndcg@10"],
        )
        result["bm25_sweep"] = sweep_bm25(rankings, data, w_dense, w_bm25, k)
    return result


def sweep_bm25(
    rankings: Rankings, data: BeirQueries, w_dense: float, w_bm25: float, k: int
) -> list[dict]:
    """BM25 alone and fused, for each (k1, b), rebuilt in memory over the same chunks."""
    tokens = artifacts.bm25_tokens([chunk.embed_text for chunk in rankings.index.chunks])
    rows = []
    for k1, b in SWEEP_BM25:
        bm25 = artifacts.build_bm25(tokens, k1, b)
        lexical = {q: lexical_rank(bm25, text, EVAL_DEPTH) for q, text in data.queries.items()}
        trial = Rankings(rankings.index, rankings.dense, lexical)
        bm25_only = score_run(trial.run(lambda _, lex: lex), data.qrels)
        fused = score_run(
            trial.run(lambda d, lex: rrf([(w_dense, d), (w_bm25, lex)], k)), data.qrels
        )
        rows.append(
            {
                "k1": k1,
                "b": b,
                "bm25_ndcg@10": bm25_only["ndcg@10"],
                "hybrid_ndcg@10": fused["ndcg@10"],
            }
        )
    return sorted(rows, key=lambda row: -row["hybrid_ndcg@10"])

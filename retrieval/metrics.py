"""Ranking metrics as BEIR reports them (trec_eval definitions, linear gain for nDCG)."""

from __future__ import annotations

import math


def dedupe(ids: list[str]) -> list[str]:
    """First occurrence of each id: a document ranks where its best chunk ranks."""
    seen: set[str] = set()
    return [i for i in ids if not (i in seen or seen.add(i))]


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int) -> float:
    """Normalized discounted cumulative gain of the top ``k``."""
    dcg = sum(relevant.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:k]))
    ideal = sorted((g for g in relevant.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(rank + 2) for rank, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], relevant: dict[str, int], k: int) -> float:
    """Share of the relevant documents found in the top ``k``."""
    wanted = {doc for doc, g in relevant.items() if g > 0}
    return len(wanted & set(ranked[:k])) / len(wanted) if wanted else 0.0


def mrr_at(ranked: list[str], relevant: dict[str, int], k: int) -> float:
    """Reciprocal rank of the first relevant document in the top ``k``."""
    for rank, doc in enumerate(ranked[:k], 1):
        if relevant.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def score_run(run: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    """Mean nDCG@10, Recall@10, Recall@100 and MRR@10 over the judged queries of ``run``."""
    queries = [q for q in qrels if q in run]
    if not queries:
        return {"ndcg@10": 0.0, "recall@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}
    metrics = {
        "ndcg@10": lambda r, rel: ndcg_at(r, rel, 10),
        "recall@10": lambda r, rel: recall_at(r, rel, 10),
        "recall@100": lambda r, rel: recall_at(r, rel, 100),
        "mrr@10": lambda r, rel: mrr_at(r, rel, 10),
    }
    return {
        name: sum(fn(run[q], qrels[q]) for q in queries) / len(queries)
        for name, fn in metrics.items()
    }

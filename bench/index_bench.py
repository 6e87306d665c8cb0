"""Indexing and query speed on SciFact, against a bare ``SentenceTransformer.encode`` baseline.

Writes SciFact's abstracts as one Markdown file each, then measures in one run:

- a full index (documents/s, chunks/s) and the same chunk texts, then the same chunks'
  sentences (which the index also embeds, for the extractive reader), embedded by bare
  ``model.encode`` calls (the baseline: the indexer's overhead ratio over pure embedding);
- reindexing after editing 1% of the files, after deleting 1%, and with no change;
- peak RSS; single-query latency p50/p95 for dense, BM25 and hybrid search;
- exact FAISS search latency for one query at 1 and 2 OpenMP threads, and over 100k and 500k
  random vectors (the measurement behind ``hnsw_above``).

Usage: ``python bench/index_bench.py [--beir ../shared/data/scifact] [--limit N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from retrieval.indexer import build_index  # noqa: E402
from retrieval.loaders import jsonl_lines  # noqa: E402
from retrieval.search import open_index  # noqa: E402
from retrieval.sentences import sentence_texts  # noqa: E402
from specialist.models import load_embedder  # noqa: E402
from specialist.settings import load_settings  # noqa: E402
from specialist.text import sentences  # noqa: E402


def write_corpus(beir: Path, folder: Path, limit: int | None) -> list[Path]:
    """One ``<id>.md`` per abstract: title heading, then the text."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    paths = []
    with (beir / "corpus.jsonl").open() as handle:
        for line in handle:
            record = json.loads(line)
            path = folder / f"{record['_id']}.md"
            path.write_text(f"# {record.get('title') or record['_id']}\n\n{record['text']}\n")
            paths.append(path)
            if limit and len(paths) >= limit:
                break
    return paths


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50 and p95 in milliseconds."""
    ordered = sorted(samples)
    return {
        "p50_ms": round(1000 * statistics.median(ordered), 2),
        "p95_ms": round(1000 * ordered[int(0.95 * (len(ordered) - 1))], 2),
    }


def bare_encode(embedder, settings, texts: list[str]) -> float:
    """Seconds a bare ``encode`` of ``texts`` takes, as the indexer batches them."""
    started = time.perf_counter()
    embedder.encode(
        texts,
        batch_size=settings.embed_batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=True,
    )
    return time.perf_counter() - started


def timed_build(settings, folder: Path, embedder) -> tuple[float, object]:
    started = time.perf_counter()
    report = build_index(settings, folder, progress=True, embedder=embedder)
    return time.perf_counter() - started, report


def faiss_latency(vectors: np.ndarray, queries: np.ndarray, threads: int) -> dict[str, float]:
    import faiss

    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    faiss.omp_set_num_threads(threads)
    samples = []
    for query in queries:
        started = time.perf_counter()
        index.search(query.reshape(1, -1), 100)
        samples.append(time.perf_counter() - started)
    faiss.omp_set_num_threads(1)
    return percentiles(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beir", type=Path, default=ROOT.parent / "shared/data/scifact")
    parser.add_argument("--work", type=Path, default=Path("/tmp/specialist-index-bench"))
    parser.add_argument("--limit", type=int, help="index only the first N abstracts")
    parser.add_argument(
        "--baseline-fraction",
        type=float,
        default=1.0,
        help="share of the chunks the bare-encode baseline embeds (rates are compared per chunk)",
    )
    parser.add_argument("--queries", type=int, default=100, help="queries timed per method")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/index_bench.json")
    args = parser.parse_args()

    shutil.rmtree(args.work / "home", ignore_errors=True)
    folder = args.work / "docs"
    paths = write_corpus(args.beir, folder, args.limit)
    settings = load_settings(home=args.work / "home")
    started = time.perf_counter()
    embedder = load_embedder(settings)
    load_seconds = time.perf_counter() - started
    embedder.encode(["warm-up: the first call initializes lazily"])

    full_s, full = timed_build(settings, folder, embedder)
    index = open_index(settings, embedder)
    chunks = index.chunks
    if args.baseline_fraction < 1:  # a random sample keeps the length mix of the chunks
        picked = np.random.default_rng(0).random(len(chunks)) < args.baseline_fraction
        chunks = [c for c, keep in zip(chunks, picked, strict=True) if keep]
    texts = [chunk.embed_text for chunk in chunks]
    bare_s = bare_encode(embedder, settings, texts)
    chunk_sentences = [s for c in chunks for s in sentence_texts(c.text, sentences(c.text))]
    bare_sentences_s = bare_encode(embedder, settings, chunk_sentences)

    nochange_s, nochange = timed_build(settings, folder, embedder)
    one_percent = max(1, len(paths) // 100)
    for path in paths[::100][:one_percent]:
        path.write_text(path.read_text() + "Revised for the benchmark.\n")
    touched_s, touched = timed_build(settings, folder, embedder)
    for path in paths[50::100][:one_percent]:
        path.unlink()
    deleted_s, deleted = timed_build(settings, folder, embedder)

    index = open_index(settings, embedder)
    lines = jsonl_lines((args.beir / "queries.jsonl").read_text(encoding="utf-8"))
    queries = [json.loads(line)["text"] for _, line in lines][: args.queries]
    latency = {}
    for mode in ("dense", "bm25", "hybrid"):
        samples = []
        for query in queries:
            started = time.perf_counter()
            index.retrieve(query, 10, mode)
            samples.append(time.perf_counter() - started)
        latency[mode] = percentiles(samples)
    query_vectors = index.embed(queries)
    vectors = np.asarray(index._embeddings, dtype=np.float32)
    rng = np.random.default_rng(0)
    faiss_rows = {
        f"flat_{len(vectors)}_1_thread": faiss_latency(vectors, query_vectors, 1),
        f"flat_{len(vectors)}_2_threads": faiss_latency(vectors, query_vectors, 2),
    }
    for size in (100_000, 500_000):
        synthetic = rng.standard_normal((size, vectors.shape[1]), dtype=np.float32)
        synthetic /= np.linalg.norm(synthetic, axis=1, keepdims=True)
        faiss_rows[f"flat_{size}_1_thread"] = faiss_latency(synthetic, query_vectors, 1)
        del synthetic

    result = {
        "corpus": f"SciFact abstracts as Markdown files ({len(paths)} documents)",
        "threads": settings.threads,
        "embed_batch_size": settings.embed_batch_size,
        "embedder_load_s": round(load_seconds, 2),
        "full_index": {
            "seconds": round(full_s, 2),
            "documents": full.files_indexed,
            "chunks": full.chunks_total,
            "sentences": full.sentences_embedded,
            "docs_per_s": round(full.files_indexed / full_s, 2),
            "chunks_per_s": round(full.chunks_total / full_s, 2),
        },
        "baseline_bare_encode": {
            "seconds": round(bare_s, 2),
            "chunks": len(texts),
            "chunks_per_s": round(len(texts) / bare_s, 2),
        },
        "baseline_bare_encode_sentences": {
            "seconds": round(bare_sentences_s, 2),
            "sentences": len(chunk_sentences),
            "share_of_bare_encode": round(bare_sentences_s / (bare_s + bare_sentences_s), 3),
        },
        "overhead_vs_bare_encode": round(
            (full_s / full.chunks_total) / ((bare_s + bare_sentences_s) / len(texts)) - 1, 4
        ),
        "reindex_no_change_s": round(nochange_s, 3),
        "reindex_touch_1pct": {
            "seconds": round(touched_s, 2),
            "files": touched.files_indexed,
            "chunks_embedded": touched.chunks_embedded,
            "ratio_to_full": round(touched_s / full_s, 4),
        },
        "reindex_delete_1pct": {
            "seconds": round(deleted_s, 2),
            "files": deleted.files_deleted,
            "ratio_to_full": round(deleted_s / full_s, 4),
        },
        "no_change_wrote_version": nochange.changed,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "query_latency": latency,
        "faiss_one_query_latency": faiss_rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print_table(result)
    print(f"wrote {args.out}")


def print_table(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=result["corpus"])
    table.add_column("measure")
    table.add_column("value", justify="right")
    full, bare = result["full_index"], result["baseline_bare_encode"]
    bare_sentences = result["baseline_bare_encode_sentences"]
    rows = [
        (
            "full index",
            f"{full['seconds']} s, {full['docs_per_s']} docs/s, {full['chunks_per_s']} chunks/s",
        ),
        (
            f"baseline: bare encode of {bare['chunks']} of the same chunks",
            f"{bare['seconds']} s, {bare['chunks_per_s']} chunks/s",
        ),
        (
            f"baseline: bare encode of their {bare_sentences['sentences']} sentences",
            f"{bare_sentences['seconds']} s "
            f"({100 * bare_sentences['share_of_bare_encode']:.0f} % of both)",
        ),
        ("indexer overhead vs bare encode", f"{100 * result['overhead_vs_bare_encode']:.1f} %"),
        ("reindex, no change", f"{result['reindex_no_change_s']} s"),
        (
            "reindex, 1% of files edited",
            f"{result['reindex_touch_1pct']['seconds']} s "
            f"({100 * result['reindex_touch_1pct']['ratio_to_full']:.2f} % of full)",
        ),
        (
            "reindex, 1% of files deleted",
            f"{result['reindex_delete_1pct']['seconds']} s "
            f"({100 * result['reindex_delete_1pct']['ratio_to_full']:.2f} % of full)",
        ),
        ("peak RSS", f"{result['peak_rss_mb']} MB"),
    ]
    rows += [
        (f"query {mode} p50 / p95", f"{v['p50_ms']} / {v['p95_ms']} ms")
        for mode, v in result["query_latency"].items()
    ]
    rows += [
        (f"faiss {name} p50 / p95", f"{v['p50_ms']} / {v['p95_ms']} ms")
        for name, v in result["faiss_one_query_latency"].items()
    ]
    for name, value in rows:
        table.add_row(name, value)
    Console().print(table)


if __name__ == "__main__":
    main()

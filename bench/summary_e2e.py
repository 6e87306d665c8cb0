"""Retrieval + summary end to end, the product's own example: "Summarize the article about X".

Issue 30, item 5. Builds a folder of 500 CNN/DailyMail test articles
(``corpora/summaries/build_news_folder.py``), indexes it into a fresh scratch home, loads the
served specialist as the service does, then for each of the 100 hand-written topics of
``corpora/summaries/cnn_dailymail/e2e_topics.jsonl``:

- **via retrieval**: "Summarize the article about <topic>" takes the service's ``/ask`` path for
  a summary request (``summary_intent`` -> ``SummaryJob.from_intent`` -> ``documents_for`` ->
  ``run_summary``); the row records the sources retrieved and cited, whether the right article is
  cited (and alone), the summary and its ROUGE against the highlights;
- **direct**: the same article summarized as the only document (``SummaryJob(source=...)``), same
  length (``medium``), same scorer (``training.evaluate.rouge_scores``).

Each summary runs on a fresh thread with the configured torch threads, as the service runs an
answer. Results go to ``bench/results/summary_e2e.json`` after every request, so ``--resume``
continues an interrupted run (the index is rebuilt, identically, in a new scratch home).

Usage: ``python bench/summary_e2e.py [--limit N] [--resume] [--out PATH] [--check-topics]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "corpora" / "summaries"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from build_news_folder import DEFAULT_ABISEE, DEFAULT_MANUJ, build  # noqa: E402
from tqdm import tqdm  # noqa: E402

from specialist.text import sentences  # noqa: E402

TOPICS = ROOT / "corpora" / "summaries" / "cnn_dailymail" / "e2e_topics.jsonl"
OUT = ROOT / "bench" / "results" / "summary_e2e.json"
REQUEST = "Summarize the article about {topic}"
SHARED_WORDS = 4
"""A topic may share no run of this many words with its article's first sentence."""
_WORD = re.compile(r"\w+")


def word_runs(text: str, n: int = SHARED_WORDS) -> set[tuple[str, ...]]:
    """Every run of ``n`` consecutive lower-cased words of ``text``."""
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def copied_runs(topic: str, document: str) -> set[tuple[str, ...]]:
    """Runs of words the topic shares with the document's first sentence (should be none)."""
    start, end = sentences(document)[0]
    return word_runs(topic) & word_runs(document[start:end])


def load_topics(path: Path, records: dict[str, dict]) -> list[dict]:
    """The topics, checked: every id is an article of the folder, no topic copies its lead."""
    with path.open(encoding="utf-8") as handle:
        topics = [json.loads(line) for line in handle if line.strip()]
    problems = []
    for row in topics:
        if row["id"] not in records:
            problems.append(f"{row['id']}: not an article of the folder")
        elif shared := copied_runs(row["topic"], records[row["id"]]["document"]):
            runs = ", ".join(" ".join(run) for run in sorted(shared))
            problems.append(f"{row['id']}: {row['topic']!r} copies the first sentence ({runs})")
    if problems:
        raise SystemExit("bad topics:\n" + "\n".join(problems))
    return topics


def plain_text(response) -> str:
    """The summary's sentences joined, without ``[n]`` markers."""
    return " ".join(sentence.text for sentence in response.sentences)


def rouge(prediction: str, reference: str) -> dict[str, float]:
    from training.evaluate import rouge_scores

    return rouge_scores([prediction], [[reference]])


def summarize_job(engine, settings, job) -> dict:
    """``documents_for`` then ``run_summary`` on a fresh thread, as the service answers."""
    import torch

    from engine.fresh_thread import on_fresh_thread
    from engine.summaries import NothingToSummarizeError, documents_for, run_summary

    def work() -> dict:
        torch.set_num_threads(settings.threads)
        started = time.perf_counter()
        try:
            documents = documents_for(engine, job, settings.min_relevance)
        except NothingToSummarizeError as exc:
            return {"declined": str(exc), "retrieved": [], "cited": [], "summary": ""}
        response = run_summary(engine, job, documents, started=started).response
        return {
            "retrieved": [d.source for d in documents],
            "cited": [c.source for c in response.citations],
            "summary": plain_text(response),
            "parts": response.parts,
            "model_calls": response.model_calls,
            "guard": response.guard.model_dump(),
        }

    started = time.perf_counter()
    result = on_fresh_thread(work)
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


def measure(engine, settings, topic: dict, record: dict) -> dict:
    """One request through the ``/ask`` summary path, and the article summarized directly."""
    from engine.router import summary_intent
    from engine.summaries import SummaryJob

    source = f"{record['id']}.txt"
    request = REQUEST.format(topic=topic["topic"])
    intent = summary_intent(request)
    row: dict = {"id": record["id"], "topic": topic["topic"], "request": request}
    row["router_topic"] = intent.topic if intent else None
    row["recognized"] = intent is not None and intent.topic is not None and not intent.pasted
    if row["recognized"]:
        via = summarize_job(engine, settings, SummaryJob.from_intent(intent))
    else:  # /ask would answer it as a question: no summary, nothing cited
        via = {"declined": "not recognized as a summary request", "cited": [], "summary": ""}
        via["retrieved"], via["seconds"] = [], 0.0
    via["right_cited"] = source in via["cited"]
    via["only_right_cited"] = via["cited"] == [source]
    via["right_retrieved"] = source in via["retrieved"]
    via["rouge"] = rouge(via["summary"], record["summary"])
    direct = summarize_job(engine, settings, SummaryJob(source=source))
    direct["rouge"] = rouge(direct["summary"], record["summary"])
    row["via_retrieval"], row["direct"] = via, direct
    row["load_1min"] = round(os.getloadavg()[0], 2)  # the machine is shared: context for timings
    return row


def totals(rows: list[dict], records: dict[str, dict]) -> dict:
    from training.evaluate import rouge_scores

    def pct(key: str, part: str = "via_retrieval") -> float:
        return round(100 * sum(bool(r[part][key]) for r in rows) / len(rows), 1)

    references = [[records[r["id"]]["summary"]] for r in rows]
    scores = {
        part: rouge_scores([r[part]["summary"] for r in rows], references)
        for part in ("via_retrieval", "direct")
    }
    seconds = {part: [r[part]["seconds"] for r in rows] for part in scores}
    hits = [r for r in rows if r["via_retrieval"]["right_cited"]]
    return {
        "requests": len(rows),
        "router_recognized_pct": round(100 * sum(r["recognized"] for r in rows) / len(rows), 1),
        "right_article_retrieved_pct": pct("right_retrieved"),
        "right_article_cited_pct": pct("right_cited"),
        "only_right_article_cited_pct": pct("only_right_cited"),
        "declined": sum("declined" in r["via_retrieval"] for r in rows),
        "rouge_via_retrieval": scores["via_retrieval"],
        "rouge_direct": scores["direct"],
        "rouge_difference": {
            metric: round(scores["via_retrieval"][metric] - scores["direct"][metric], 2)
            for metric in scores["direct"]
        },
        "rouge_via_retrieval_right_cited": rouge_scores(
            [r["via_retrieval"]["summary"] for r in hits],
            [[records[r["id"]]["summary"]] for r in hits],
        )
        if hits
        else None,
        "mean_seconds": {part: round(statistics.fmean(v), 2) for part, v in seconds.items()},
        "median_seconds": {part: round(statistics.median(v), 2) for part, v in seconds.items()},
        "mean_load_1min": round(statistics.fmean(r["load_1min"] for r in rows), 2),
    }


def write_result(path: Path, result: dict) -> None:
    """Write atomically, so an interrupted run leaves the last complete file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pending = path.with_name(path.name + ".tmp")
    pending.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(pending, path)


def print_table(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    t = result["totals"]
    table = Table(
        title=f"summary end to end, {t['requests']} requests, {result['articles']} articles"
    )
    for column in ("", "via retrieval", "direct", "difference"):
        table.add_column(column, justify="right")
    for metric in ("rouge1", "rouge2", "rougeL"):
        table.add_row(
            f"ROUGE-{metric[5:].upper()}",
            f"{t['rouge_via_retrieval'][metric]:.2f}",
            f"{t['rouge_direct'][metric]:.2f}",
            f"{t['rouge_difference'][metric]:+.2f}",
        )
    m = t["mean_seconds"]
    table.add_row("mean s / request", f"{m['via_retrieval']:.2f}", f"{m['direct']:.2f}", "")
    table.add_row("router recognized", f"{t['router_recognized_pct']:.1f}%", "", "")
    table.add_row("right article retrieved", f"{t['right_article_retrieved_pct']:.1f}%", "", "")
    table.add_row("right article cited", f"{t['right_article_cited_pct']:.1f}%", "", "")
    table.add_row("only the right article", f"{t['only_right_article_cited_pct']:.1f}%", "", "")
    Console().print(table)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--limit", type=int, help="only the first N topics")
    parser.add_argument("--resume", action="store_true", help="skip requests already in --out")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--topics", type=Path, default=TOPICS)
    parser.add_argument("--manuj", type=Path, default=DEFAULT_MANUJ)
    parser.add_argument("--abisee", type=Path, default=DEFAULT_ABISEE)
    parser.add_argument("--check-topics", action="store_true", help="check the topics and stop")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="summary_e2e_"))
    folder, home = scratch / "news", scratch / "home"
    try:
        records = {r["id"]: r for r in build(folder, None, args.manuj, args.abisee)}
        topics = load_topics(args.topics, records)[: args.limit]
        print(f"{len(records)} articles in {folder}; {len(topics)} topics checked")
        if args.check_topics:
            return 0
        return run(args, scratch, folder, home, records, topics)
    finally:
        if args.keep:
            print(f"scratch kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


def run(args, scratch: Path, folder: Path, home: Path, records: dict, topics: list[dict]) -> int:
    os.environ["SPECIALIST_HOME"] = str(home)
    os.environ["SPECIALIST_DOCS_DIRS"] = json.dumps([str(folder)])

    from engine.fresh_thread import on_fresh_thread
    from engine.loader import load_specialist
    from engine.selfcheck import cpu_description
    from engine.snapshot import Engine
    from retrieval.indexer import build_index
    from retrieval.search import open_index
    from specialist.adapters import AdapterRegistry
    from specialist.settings import load_settings

    settings = load_settings()
    started = time.perf_counter()
    report = on_fresh_thread(lambda: build_index(settings, folder, progress=True))
    index_seconds = time.perf_counter() - started
    print(report.summary())
    AdapterRegistry(settings).ensure_default()
    specialist = on_fresh_thread(lambda: load_specialist(settings))
    index = open_index(settings)
    assert index is not None, "the index was just built"
    engine = Engine(index, specialist)

    rows: dict[str, dict] = {}
    if args.resume and args.out.is_file():
        rows = {r["id"]: r for r in json.loads(args.out.read_text())["rows"]}
    result = {
        "what": "Summarize the article about <topic>: the /ask summary path vs the article alone",
        "articles": len(records),
        "topics": str(args.topics.relative_to(ROOT)),
        "request": REQUEST,
        "machine": {
            "cpu": cpu_description()[0],
            "cores": os.cpu_count(),
            "threads": settings.threads,
            "load_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "settings": {
            "base_model": specialist.base_model,
            "adapter": specialist.adapter_version,
            "serve_dtype": settings.serve_dtype,
            "engine": settings.engine,
            "length": "medium",
            "min_relevance": settings.min_relevance,
        },
        "index": {
            "version": index.version,
            "chunks": len(index.chunks),
            "seconds": round(index_seconds, 1),
        },
    }
    todo = [t for t in topics if t["id"] not in rows]
    print(f"{len(topics) - len(todo)} requests already done, {len(todo)} to go")
    for topic in tqdm(todo, desc="requests", unit="req", file=sys.stdout, mininterval=5):
        rows[topic["id"]] = measure(engine, settings, topic, records[topic["id"]])
        done = [rows[t["id"]] for t in topics if t["id"] in rows]
        write_result(args.out, {**result, "totals": totals(done, records), "rows": done})
    done = [rows[t["id"]] for t in topics if t["id"] in rows]
    final = {**result, "totals": totals(done, records), "rows": done}
    write_result(args.out, final)
    print_table(final)
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

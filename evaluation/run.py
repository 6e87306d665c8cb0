"""Run the whole comparison and write ``report.json``, ``report.md`` and the figures.

Order matters for cost: every input is validated first, retrieval is scored and the QA hits are
computed once, then each model is loaded once and answers everything (closed book, with retrieval,
answer withheld, summaries) before it is released.
"""

from __future__ import annotations

import gc
import json
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.loader import load_specialist
from evaluation.checkpoint import Checkpoint
from evaluation.data import BEIR_SPLIT, EvalData, beir_subset, data_hashes, heldout_questions
from evaluation.plots import draw_all
from evaluation.qa import (
    Answer,
    answer_all,
    gold_retrieved,
    qa_index,
    retrieve_all,
    summarize_answers,
    withheld_abstention,
)
from evaluation.report import render_report
from evaluation.summaries import score_summaries, summary_items
from evaluation.systems import MODEL_KINDS, SYSTEMS
from retrieval.evaluate import evaluate_beir, load_beir_queries
from specialist.adapters import AdapterRegistry
from specialist.errors import UserError
from specialist.settings import Settings
from specialist.versions import atomic_write_text

EXAMPLES = 5


@dataclass(frozen=True)
class Options:
    """Everything that shapes the numbers (all of it is recorded in the JSON)."""

    limit: int | None = None
    withheld: int = 100
    adapter: str | None = None
    seed: int = 0
    top_k: int = 4
    max_new_tokens: int = 64
    batch_size: int = 8
    split_file: Path | None = None
    resume: bool = False


def options_record(options: Options) -> dict[str, Any]:
    """The options as JSON values (``resume`` left out: it does not change any number)."""
    record = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(options).items()}
    record.pop("resume")
    return record


def evaluate_all(settings: Settings, data: EvalData, out: Path, options: Options) -> dict[str, Any]:
    """The four systems on QA, the two models on summaries, the three retrievers; all written."""
    import torch

    started = time.perf_counter()
    hashes = data_hashes(data)
    heldout = heldout_questions(data.squad, options.split_file, options.limit, options.seed)
    documents, dropped = summary_items(data.summaries, options.limit)
    beir = data.beir
    if options.limit:
        beir = beir_subset(data.beir, options.limit, settings.home / "eval-data")
    load_beir_queries(beir, BEIR_SPLIT)
    version = options.adapter or AdapterRegistry(settings).current()
    if version is None:
        raise UserError("there is no adapter to evaluate; train one or pass --adapter VERSION")
    torch.manual_seed(options.seed)

    retrieval = evaluate_beir(settings, beir, BEIR_SPLIT)
    index = qa_index(settings, data.squad, hashes["squad"]["sha256"])
    withheld = min(options.withheld, len(heldout.questions))
    retrieved = retrieve_all(index, heldout.questions, options.top_k, withheld)

    fingerprint = {
        **options_record(options),
        "data": {name: entry["sha256"] for name, entry in hashes.items()},
        "adapter_version": version,
        "model": [settings.base_model, settings.serve_dtype],
        "policy": [settings.min_relevance, settings.passage_words, settings.prompt_token_budget],
    }
    checkpoint = Checkpoint(out, fingerprint, options.resume)
    answers: dict[str, list[Answer]] = {}
    withheld_scores: dict[str, float | None] = {}
    summaries: dict[str, dict[str, float]] = {}
    for kind in MODEL_KINDS:
        systems = [s for s in SYSTEMS if s.adapter == (kind == "specialist")]
        parts = [s.key for s in systems] + [f"summaries:{kind}"]
        specialist = None
        if not all(checkpoint.has(part) for part in parts):
            specialist = load_specialist(settings, version, adapter=kind == "specialist")
        for system in systems:
            if not checkpoint.has(system.key):
                found = retrieved if system.retrieval else None
                done = answer_all(
                    specialist,
                    heldout.questions,
                    found,
                    options.max_new_tokens,
                    settings,
                    system.key,
                )
                abstention = None
                if system.retrieval:
                    abstention = withheld_abstention(
                        specialist,
                        heldout.questions,
                        retrieved,
                        options.max_new_tokens,
                        settings,
                        f"{system.key} withheld",
                    )
                checkpoint.save(system.key, done, abstention_withheld=abstention)
            answers[system.key] = checkpoint.answers(system.key)
            withheld_scores[system.key] = checkpoint.value(system.key, "abstention_withheld")
        if not checkpoint.has(f"summaries:{kind}"):
            scores = score_summaries(
                specialist,
                documents,
                options.max_new_tokens,
                options.batch_size,
                f"summarize {kind}",
            )
            checkpoint.save(f"summaries:{kind}", scores=scores)
        summaries[kind] = checkpoint.value(f"summaries:{kind}", "scores")
        del specialist
        gc.collect()
    qa_systems = {key: summarize_answers(values) for key, values in answers.items()}
    for key, abstention in withheld_scores.items():
        if abstention is not None:
            qa_systems[key]["abstention_withheld"] = abstention

    report: dict[str, Any] = {
        "kind": "eval-all",
        "created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "systems": {s.key: s.label for s in SYSTEMS},
        "config": {
            **options_record(options),
            "adapter_version": version,
            "adapter_folder": str(AdapterRegistry(settings).path(version)),
            "base_model": settings.base_model,
            "serve_dtype": settings.serve_dtype,
            "threads": settings.threads,
            "prompt_token_budget": settings.prompt_token_budget,
            "min_relevance": settings.min_relevance,
            "decoding": "greedy",
            "torch": torch.__version__,
        },
        "data": hashes,
        "qa": {
            "questions": len(heldout.questions),
            "articles": heldout.articles,
            "excluded_training_articles": len(heldout.excluded_articles),
            "withheld_questions": withheld,
            "index_version": index.version,
            "chunks": index.num_chunks,
            "gold_in_top_k": gold_retrieved(heldout.questions, retrieved),
            "systems": qa_systems,
            "examples": [
                {
                    "question": question.question,
                    "answers": list(question.answers),
                    "answers_by": {key: answers[key][n].text for key in answers},
                }
                for n, question in enumerate(heldout.questions[:EXAMPLES])
            ],
        },
        "summaries": {
            "documents": len(documents),
            "dropped_duplicates": dropped,
            "reference_mean_words": round(
                sum(len(d.references[0].split()) for d in documents) / len(documents), 1
            ),
            "models": summaries,
        },
        "retrieval": {
            key: retrieval[key] for key in ("dataset", "split", "queries", "chunks", "rows")
        },
    }
    out.mkdir(parents=True, exist_ok=True)
    report["figures"] = draw_all(
        report, {key: [a.seconds for a in values] for key, values in answers.items()}, out
    )
    report["wall_seconds"] = round(time.perf_counter() - started, 1)
    atomic_write_text(out / "report.json", json.dumps(report, indent=2) + "\n")
    atomic_write_text(out / "report.md", render_report(report))
    atomic_write_text(out / "answers.jsonl", answer_lines(heldout.questions, answers))
    checkpoint.path.unlink(missing_ok=True)
    return report


def answer_lines(questions: list, answers: dict[str, list[Answer]]) -> str:
    """Every question with each system's answer and its scores, one JSON object per line."""
    lines = []
    for n, question in enumerate(questions):
        record = {"question": question.question, "answers": list(question.answers)}
        record["systems"] = {key: asdict(values[n]) for key, values in answers.items()}
        lines.append(json.dumps(record, ensure_ascii=False))
    return "\n".join(lines) + "\n"

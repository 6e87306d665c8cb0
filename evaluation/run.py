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

from evaluation.data import BEIR_SPLIT, EvalData, beir_subset, data_hashes, heldout_questions
from evaluation.plots import draw_all
from evaluation.qa import (
    answer_all,
    gold_retrieved,
    qa_index,
    retrieve_all,
    summarize_answers,
    withheld_abstention,
)
from evaluation.report import render_report
from evaluation.summaries import score_summaries, summary_items
from evaluation.systems import MODEL_KINDS, SYSTEMS, load_system_model
from retrieval.evaluate import evaluate_beir, load_beir_queries
from specialist.adapters import AdapterRegistry
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
    torch.manual_seed(options.seed)

    retrieval = evaluate_beir(settings, beir, BEIR_SPLIT)
    index = qa_index(settings, data.squad)
    withheld = min(options.withheld, len(heldout.questions))
    retrieved = retrieve_all(index, heldout.questions, options.top_k, withheld)

    answers: dict[str, list] = {}
    qa_systems: dict[str, dict[str, float]] = {}
    summaries: dict[str, dict[str, float]] = {}
    adapter_version = None
    for kind in MODEL_KINDS:
        specialist = load_system_model(settings, kind == "specialist", version)
        adapter_version = specialist.adapter_version or adapter_version
        for system in (s for s in SYSTEMS if s.adapter == (kind == "specialist")):
            answers[system.key] = answer_all(
                specialist,
                heldout.questions,
                retrieved if system.retrieval else None,
                options.max_new_tokens,
                settings,
                system.key,
            )
            qa_systems[system.key] = summarize_answers(answers[system.key])
            if system.retrieval:
                qa_systems[system.key]["abstention_withheld"] = withheld_abstention(
                    specialist,
                    heldout.questions,
                    retrieved,
                    options.max_new_tokens,
                    settings,
                    f"{system.key} withheld",
                )
        summaries[kind] = score_summaries(
            specialist, documents, options.max_new_tokens, options.batch_size, f"summarize {kind}"
        )
        del specialist
        gc.collect()

    report: dict[str, Any] = {
        "kind": "eval-all",
        "created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "systems": {s.key: s.label for s in SYSTEMS},
        "config": {
            **{k: str(v) if isinstance(v, Path) else v for k, v in asdict(options).items()},
            "adapter_version": adapter_version,
            "adapter_folder": str(AdapterRegistry(settings).path(adapter_version))
            if adapter_version
            else None,
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
    return report


def answer_lines(questions: list, answers: dict[str, list]) -> str:
    """Every question with each system's answer and its scores, one JSON object per line."""
    lines = []
    for n, question in enumerate(questions):
        record = {"question": question.question, "answers": list(question.answers)}
        record["systems"] = {key: asdict(values[n]) for key, values in answers.items()}
        lines.append(json.dumps(record, ensure_ascii=False))
    return "\n".join(lines) + "\n"

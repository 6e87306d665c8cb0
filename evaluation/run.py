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

from engine.extract import SHIPPED_WEIGHTS, ReaderWeights
from engine.loader import load_specialist
from evaluation.checkpoint import Checkpoint, Fingerprint
from evaluation.data import BEIR_SPLIT, EvalData, beir_subset, data_hashes, heldout_questions
from evaluation.plots import draw_all
from evaluation.qa import (
    Answer,
    answer_all,
    gold_retrieved,
    retrieve_all,
    summarize_answers,
    withheld_abstention,
)
from evaluation.report import render_report
from evaluation.summaries import score_summaries, summary_items
from evaluation.systems import MODEL_KINDS, ORACLE_LABEL, SYSTEMS, system_reader
from retrieval.corpus_xquad import xquad_index
from retrieval.evaluate import evaluate_beir, load_beir_queries
from specialist.adapters import AdapterRegistry
from specialist.errors import UserError
from specialist.settings import Settings
from specialist.versions import atomic_write_text
from training.data import sha256_file

EXAMPLES = 5
SELECTING = ("systems", "summarize")
"""Options that choose which parts run, not what a part's numbers are."""
RETRIEVAL_OPTIONS = ("withheld", "top_k")
"""Options that shape only the rows that answer from retrieved passages."""


@dataclass(frozen=True)
class Options:
    """Everything that shapes the numbers (all of it is recorded in the JSON)."""

    limit: int | None = None
    withheld: int | None = None
    """Questions asked again with the answer withheld; ``None``: all of them (100 of 352 left an
    abstention rate with a standard error near 5 points)."""
    adapter: str | None = None
    seed: int = 0
    top_k: int = 4
    max_new_tokens: int = 64
    batch_size: int = 8
    split_file: Path | None = None
    resume: bool = False
    systems: tuple[str, ...] = tuple(system.key for system in SYSTEMS)
    """The QA rows to run; a rerun of one row is much cheaper."""
    summarize: bool = True
    """Whether both models summarize both summary sets (the longest part of a full run)."""


def reader_record(settings: Settings) -> dict[str, Any]:
    """The extractive reader's judge weight, answerability signals and decline threshold.

    Nothing for the ``generate`` reader.
    """
    if settings.reader != "extract":
        return {}
    weights = ReaderWeights.load(settings.reader_weights or SHIPPED_WEIGHTS)
    return {
        "reader_judge_weight": weights.judge_weight,
        "reader_answerability": list(weights.answerability.features)
        if weights.answerability
        else [],
        "reader_threshold": weights.threshold,
    }


def options_record(options: Options) -> dict[str, Any]:
    """The options as JSON values (``resume`` left out: it does not change any number)."""
    record = json.loads(json.dumps(asdict(options), default=str))
    record.pop("resume")
    return record


def part_fingerprints(
    settings: Settings, options: Options, hashes: dict[str, Any], version: str
) -> Fingerprint:
    """What shapes each part's numbers.

    The reader's weights shape the product row alone, and the retrieval options only the rows
    that retrieve, so changing one reruns no closed-book row and no summary.
    """
    shaping = {
        **{k: v for k, v in options_record(options).items() if k not in SELECTING},
        "data": {name: entry["sha256"] for name, entry in hashes.items()},
        "adapter_version": version,
        "model": [settings.base_model, settings.serve_dtype],
        "policy": [settings.min_relevance, settings.passage_words, settings.prompt_token_budget],
    }
    reader = [settings.reader, sha256_file(settings.reader_weights or SHIPPED_WEIGHTS)]
    with_retrieval = {system.key for system in SYSTEMS if system.retrieval}

    def fingerprint(part: str) -> dict[str, Any]:
        if part == "product":
            return {**shaping, "reader": reader}
        if part in with_retrieval:
            return shaping
        return {k: v for k, v in shaping.items() if k not in RETRIEVAL_OPTIONS}

    return fingerprint


def evaluate_all(settings: Settings, data: EvalData, out: Path, options: Options) -> dict[str, Any]:
    """Every system on QA, the two models on summaries, the three retrievers; all written."""
    import torch

    started = time.perf_counter()
    hashes = data_hashes(data)
    heldout = heldout_questions(data.squad, options.split_file, options.limit, options.seed)
    summary_sets = {}
    if options.summarize:
        summary_sets = {
            "summaries": summary_items(data.summaries, options.limit),
            "news": summary_items(data.news, options.limit),
        }
    beir = data.beir
    if options.limit:
        beir = beir_subset(data.beir, options.limit, settings.home / "eval-data")
    load_beir_queries(beir, BEIR_SPLIT)
    version = options.adapter or AdapterRegistry(settings).current()
    if version is None:
        raise UserError("there is no adapter to evaluate; train one or pass --adapter VERSION")
    torch.manual_seed(options.seed)

    retrieval = evaluate_beir(settings, beir, BEIR_SPLIT)
    index = xquad_index(settings, data.squad, hashes["squad"]["sha256"])
    withheld = min(options.withheld or len(heldout.questions), len(heldout.questions))
    retrieved = retrieve_all(index, heldout.questions, options.top_k, withheld)

    checkpoint = Checkpoint(
        out, part_fingerprints(settings, options, hashes, version), options.resume
    )
    answers: dict[str, list[Answer]] = {}
    withheld_scores: dict[str, float | None] = {}
    summaries: dict[str, dict[str, dict[str, float]]] = {}
    for kind in MODEL_KINDS:
        systems = [s for s in SYSTEMS if s.model == kind and s.key in options.systems]
        parts = [s.key for s in systems] + (
            [f"{task}:{kind}" for task in summary_sets] if kind else []
        )
        specialist = None
        if kind and not all(checkpoint.has(part) for part in parts):
            specialist = load_specialist(settings, version, adapter=kind == "specialist")
        for system in systems:
            if not checkpoint.has(system.key):
                read = system_reader(system, specialist, index, settings, options.max_new_tokens)
                done = answer_all(heldout.questions, retrieved, read, system.key)
                abstention = None
                if system.retrieval:
                    abstention = withheld_abstention(
                        heldout.questions, retrieved, read, f"{system.key} withheld"
                    )
                checkpoint.save(system.key, done, abstention_withheld=abstention)
            answers[system.key] = checkpoint.answers(system.key)
            withheld_scores[system.key] = checkpoint.value(system.key, "abstention_withheld")
        if kind is None:
            continue
        for task, (documents, _) in summary_sets.items():
            if not checkpoint.has(f"{task}:{kind}"):
                scores = score_summaries(
                    specialist,
                    documents,
                    options.max_new_tokens,
                    options.batch_size,
                    f"{task} {kind}",
                )
                checkpoint.save(f"{task}:{kind}", scores=scores)
            summaries.setdefault(task, {})[kind] = checkpoint.value(f"{task}:{kind}", "scores")
        del specialist
        gc.collect()
    qa_systems = {key: summarize_answers(values) for key, values in answers.items()}
    for key, abstention in withheld_scores.items():
        if abstention is not None:
            qa_systems[key]["abstention_withheld"] = abstention
    if "product" in qa_systems:
        qa_systems["oracle"] = {"contains_gold": qa_systems["product"]["gold_shown"]}

    report: dict[str, Any] = {
        "kind": "eval-all",
        "created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "systems": {
            **{s.key: s.label for s in SYSTEMS if s.key in qa_systems},
            **({"oracle": ORACLE_LABEL} if "oracle" in qa_systems else {}),
        },
        "config": {
            **options_record(options),
            "adapter_version": version,
            "adapter_folder": str(AdapterRegistry(settings).path(version)),
            "base_model": settings.base_model,
            "serve_dtype": settings.serve_dtype,
            "threads": settings.threads,
            "prompt_token_budget": settings.prompt_token_budget,
            "min_relevance": settings.min_relevance,
            "reader": settings.reader,
            "reader_weights": str(settings.reader_weights or SHIPPED_WEIGHTS),
            **reader_record(settings),
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
        **{
            task: summary_block(documents, dropped, summaries[task])
            for task, (documents, dropped) in summary_sets.items()
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


def summary_block(
    documents: list, dropped: int, models: dict[str, dict[str, float]]
) -> dict[str, Any]:
    """One summary set's part of the report: its documents and each model's scores."""
    return {
        "documents": len(documents),
        "dropped_duplicates": dropped,
        "reference_mean_words": round(
            sum(len(d.references[0].split()) for d in documents) / len(documents), 1
        ),
        "models": models,
    }


def answer_lines(questions: list, answers: dict[str, list[Answer]]) -> str:
    """Every question with each system's answer and its scores, one JSON object per line."""
    lines = []
    for n, question in enumerate(questions):
        record = {"question": question.question, "answers": list(question.answers)}
        record["systems"] = {key: asdict(values[n]) for key, values in answers.items()}
        lines.append(json.dumps(record, ensure_ascii=False))
    return "\n".join(lines) + "\n"

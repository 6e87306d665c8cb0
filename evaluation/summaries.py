"""Summarization on a held-out summary set: ROUGE against every reference, and summary length.

Retrieval plays no part in summarizing a given document, so this task compares the two models
(base and specialist); the report shows the same figures for the systems each model serves.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from engine.loader import Specialist
from evaluation.data import SUMMARY_TRAINING_FILES
from specialist.errors import UserError
from specialist.prompt import render, summary_request
from training.data import normalize_text, read_records
from training.evaluate import SummaryItem, generate_all, load_summary_items, rouge_scores


def summary_items(path: Path, limit: int | None) -> tuple[list[SummaryItem], int]:
    """Documents to summarize, minus any the shipped adapter trained on; and how many were dropped.

    The training files hold rendered requests (``prompt``), so a document is recognised by the
    request it would make.
    """
    trained = {
        normalize_text(record.get("prompt", ""))
        for file in SUMMARY_TRAINING_FILES
        if file.is_file()
        for _, record in read_records(file)
    }
    items, _ = load_summary_items(path)
    kept = [i for i in items if normalize_text(summary_request(i.document)) not in trained]
    if not kept:
        raise UserError(f"{path}: every document was used in training; nothing is held out")
    return (kept[:limit] if limit else kept), len(items) - len(kept)


def score_summaries(
    specialist: Specialist,
    items: Sequence[SummaryItem],
    max_new_tokens: int,
    batch_size: int,
    desc: str,
) -> dict[str, float]:
    """ROUGE-1/2/L (best of the references, x100), mean words and throughput of one model."""
    prompts = [render(specialist.tokenizer, summary_request(item.document)) for item in items]
    begin = time.perf_counter()
    predictions = generate_all(specialist, prompts, max_new_tokens, batch_size, desc)
    seconds = time.perf_counter() - begin
    scores = rouge_scores(predictions, [item.references for item in items])
    scores["mean_words"] = round(sum(len(p.split()) for p in predictions) / len(items), 1)
    scores["documents_per_s"] = round(len(items) / seconds, 3)
    return scores

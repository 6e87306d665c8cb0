"""``specialist eval summarize`` and ``specialist eval rag``: base model vs adapter, same prompts.

Both evaluations load each model with the one loader (``engine.loader``, in the serving dtype) and
generate greedily with ``engine.generate.generate_batch`` (the service's stop rule) from prompts
built by the one template (``specialist.prompt``), so the numbers describe what the service would
answer.
Results of each model are written to one JSON file; running again with ``--models adapter`` keeps
the base model's results already in that file (same data, limit, model and dtype), so the slow
base-model pass
can run once, for example while the adapter is still training.

``eval summarize`` also scores, on every run, rows that need no generation (``baselines``): the
document's first 1, 2 and 3 sentences, the embedding-centroid extract (:mod:`training.extractive`)
and the human references themselves; every row, model or not, gets the columns of
:mod:`training.summary_metrics` (unsupported names/numbers/dates, copying, novelty, repetition).
"""

from __future__ import annotations

import json
import re
import string
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from engine.loader import Specialist, load_specialist
from specialist.errors import UserError
from specialist.prompt import NO_ANSWER, render, summary_request
from specialist.settings import Settings
from training.data import document_keys, normalize_text, read_records, sha256_file
from training.extractive import centroid_summaries, lead
from training.summary_metrics import summary_columns

MODELS = ("base", "adapter")
PRODUCT = "product"
CITATION = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class SummaryItem:
    """A document to summarize and its reference summaries."""

    document: str
    references: list[str]


@dataclass(frozen=True)
class RagItem:
    """A held-out RAFT question: the request, accepted answers, gold passage number (or None)."""

    prompt: str
    answers: list[str]
    gold: int | None
    passages: list[str]


def load_summary_items(
    path: Path, exclude: Sequence[Path] = (), limit: int | None = None
) -> tuple[list[SummaryItem], int]:
    """Documents with every ``summary*`` reference; drops those also found in ``exclude`` files.

    Reads DialogSum (``dialogue`` + ``summary`` or ``summary1..3``) and ``{document, summary}``
    files. Returns the items and how many duplicates were dropped.
    """
    items, dropped = [], 0
    excluded: set[str] = set()
    for other in exclude:
        field = "dialogue" if _first_record(other).get("dialogue") else "document"
        excluded |= document_keys([other], field)
    for number, record in read_records(path):
        document = record.get("dialogue") or record.get("document")
        references = [
            value
            for key, value in sorted(record.items())
            if key.startswith("summary") and isinstance(value, str) and value.strip()
        ]
        if not isinstance(document, str) or not references:
            raise UserError(f"{path}:{number}: needs 'dialogue' or 'document' and a 'summary*'")
        if normalize_text(document) in excluded:
            dropped += 1
            continue
        items.append(SummaryItem(document, references))
    if not items:
        raise UserError(f"{path}: no documents to evaluate")
    return items[:limit] if limit else items, dropped


def _first_record(path: Path) -> dict:
    return next(record for _, record in read_records(path))


def load_rag_items(path: Path, limit: int | None = None) -> list[RagItem]:
    """Held-out records written by ``specialist data raft`` (``raft_heldout.jsonl``)."""
    items = []
    for number, record in read_records(path):
        try:
            items.append(
                RagItem(record["prompt"], record["answers"], record["gold"], record["passages"])
            )
        except KeyError as exc:
            raise UserError(
                f"{path}:{number}: missing {exc}; expected a file from `specialist data raft`"
            ) from None
    if not items:
        raise UserError(f"{path}: no questions to evaluate")
    return items[:limit] if limit else items


def generate_all(
    specialist: Specialist, prompts: list[str], max_new_tokens: int, batch_size: int, desc: str
) -> list[str]:
    """Greedy answers for every prompt, batched by similar length to limit padding."""
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    answers: list[str] = [""] * len(prompts)
    with tqdm(total=len(prompts), desc=desc, unit="prompt") as progress:
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            outputs = specialist.generate_batch([prompts[i] for i in chunk], max_new_tokens)
            for index, output in zip(chunk, outputs, strict=True):
                answers[index] = output
            progress.update(len(chunk))
    return answers


def rouge_scores(predictions: Sequence[str], references: Sequence[list[str]]) -> dict[str, float]:
    """Mean ROUGE-1/2/L F1 (x100), each the best over a document's references."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    totals = Counter()
    for prediction, refs in zip(predictions, references, strict=True):
        per_ref = [scorer.score(ref, prediction) for ref in refs]
        for metric in ("rouge1", "rouge2", "rougeL"):
            totals[metric] += max(score[metric].fmeasure for score in per_ref)
    return {metric: round(100 * totals[metric] / len(predictions), 2) for metric in totals}


def normalize_answer(text: str) -> str:
    """SQuAD normalization: lower case, no punctuation, articles or extra spaces."""
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def token_f1(prediction: str, answer: str) -> float:
    """SQuAD token-overlap F1 between a prediction and one gold answer."""
    pred, gold = normalize_answer(prediction).split(), normalize_answer(answer).split()
    common = sum((Counter(pred) & Counter(gold)).values())
    if not common:
        return 0.0
    precision, recall = common / len(pred), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def is_abstention(answer: str) -> bool:
    """Whether the answer is the template's "the documents do not say"."""
    return normalize_answer(NO_ANSWER) in normalize_answer(answer)


def rag_scores(predictions: Sequence[str], items: Sequence[RagItem]) -> dict[str, float]:
    """Answer-contains-gold, token F1, citation correctness and abstention, in percent."""
    answerable = [(p, i) for p, i in zip(predictions, items, strict=True) if i.gold is not None]
    unanswerable = [(p, i) for p, i in zip(predictions, items, strict=True) if i.gold is None]
    contains = f1 = cited_right = false_abstain = 0.0
    for prediction, item in answerable:
        text = CITATION.sub(" ", prediction)
        contains += any(normalize_answer(a) in normalize_answer(text) for a in item.answers)
        f1 += max(token_f1(text, a) for a in item.answers)
        cited = {int(n) for n in CITATION.findall(prediction)}
        cited_right += bool(cited) and all(
            1 <= n <= len(item.passages)
            and any(a.lower() in item.passages[n - 1].lower() for a in item.answers)
            for n in cited
        )
        false_abstain += is_abstention(prediction)
    abstained = sum(is_abstention(p) for p, _ in unanswerable)

    def pct(value: float, count: int) -> float:
        return round(100 * value / count, 2) if count else 0.0

    return {
        "contains_gold": pct(contains, len(answerable)),
        "token_f1": pct(f1, len(answerable)),
        "citation_correct": pct(cited_right, len(answerable)),
        "abstention_correct": pct(abstained, len(unanswerable)),
        "false_abstention": pct(false_abstain, len(answerable)),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
    }


def load_model(settings: Settings, which: str, adapter: str | None) -> Specialist:
    """The base model alone, or the specialist with ``adapter``, each as the service loads it."""
    specialist = load_specialist(settings, adapter, adapter=which == "adapter")
    if which == "adapter" and specialist.adapter_version is None:
        raise UserError("there is no adapter to evaluate; train one or pass --adapter VERSION")
    return specialist


def run_models(
    settings: Settings,
    kind: str,
    models: Sequence[str],
    adapter: str | None,
    prompts_for: Callable[[Any], list[str]],
    score: Callable[[list[str]], dict[str, float]],
    max_new_tokens: int,
    batch_size: int,
    keep: dict[str, Any],
) -> dict[str, Any]:
    """Generate and score with each requested model; ``keep`` holds earlier results to carry over."""
    results = dict(keep)
    for which in models:
        specialist = load_model(settings, which, adapter)
        tokenizer = specialist.tokenizer
        started = time.perf_counter()
        predictions = generate_all(
            specialist,
            prompts_for(tokenizer),
            max_new_tokens,
            batch_size,
            f"{kind} {which}",
        )
        seconds = time.perf_counter() - started
        scores = score(predictions)
        results[which] = {
            **scores,
            "adapter_version": specialist.adapter_version,
            "seconds": round(seconds, 1),
            "prompts_per_s": round(len(predictions) / seconds, 3),
            "examples": predictions[:5],
        }
        del specialist
    return results


def previous_results(out: Path | None, fingerprint: dict[str, Any]) -> dict[str, Any]:
    """Model results already in ``out`` for exactly this data and limit (else nothing)."""
    saved = _saved(out)
    if saved.get("fingerprint") != fingerprint:
        return {}
    return {m: saved["results"][m] for m in (*MODELS, PRODUCT) if m in saved.get("results", {})}


def _saved(out: Path | None) -> dict[str, Any]:
    """The report in ``out``, or nothing when there is none or it is not JSON."""
    if out is None or not out.is_file():
        return {}
    try:
        saved = json.loads(out.read_text())
    except ValueError:
        return {}
    return saved if isinstance(saved, dict) else {}


def evaluate_summaries(
    settings: Settings,
    data: Path,
    exclude: Sequence[Path],
    models: Sequence[str],
    adapter: str | None,
    limit: int | None,
    out: Path | None,
    batch_size: int = 8,
    max_new_tokens: int = 64,
    length: str = "medium",
) -> dict[str, Any]:
    """ROUGE, length, faithfulness and copying of each model and of the baseline rows on ``data``.

    ``product`` is the adapter as ``POST /summarize`` serves it (:func:`engine.summarize.summarize`
    at ``length``: its sentences, repeats dropped, each checked by the faithfulness guard).

    ``models`` may be empty: the baseline rows alone (no model is loaded), with any model rows
    already in ``out`` for the same data kept.
    """
    items, dropped = load_summary_items(data, exclude, limit)
    fingerprint = {
        "data": sha256_file(data),
        "limit": limit,
        "dropped_duplicates": dropped,
        "model": [settings.base_model, settings.serve_dtype],
    }
    if not models:  # nothing generated: keep the model rows in ``out`` whatever model wrote them
        fingerprint["model"] = _saved(out).get("fingerprint", {}).get("model", fingerprint["model"])
    keep = previous_results(out, fingerprint)

    documents = [item.document for item in items]

    def score(predictions: list[str]) -> dict[str, float]:
        rouge = rouge_scores(predictions, [item.references for item in items])
        return {**rouge, **summary_columns(predictions, documents)}

    results = run_models(
        settings,
        "summarize",
        [m for m in models if m != PRODUCT],
        adapter,
        lambda tok: [render(tok, summary_request(item.document)) for item in items],
        score,
        max_new_tokens,
        batch_size,
        keep,
    )
    reference_words = sum(len(item.references[0].split()) for item in items) / len(items)
    report = {
        "kind": "summarize",
        "data": str(data),
        "documents": len(items),
        "reference_mean_words": round(reference_words, 1),
        "fingerprint": fingerprint,
        "results": results,
        "baselines": baseline_rows(settings, items, score),
    }
    if PRODUCT in models:
        results[PRODUCT] = product_row(settings, documents, adapter, length, score)
    _write(out, report)
    return report


def product_row(
    settings: Settings,
    documents: list[str],
    adapter: str | None,
    length: str,
    score: Callable[[list[str]], dict[str, float]],
) -> dict[str, Any]:
    """The summaries users get from ``POST /summarize``, scored, with the guard's own counts
    (``guard_unsupported_rate`` is the share of mentions unsupported before its repairs)."""
    from engine.summarize import Document, GuardCounts, summarize
    from specialist.models import load_embedder

    specialist = load_model(settings, "adapter", adapter)
    embedder = load_embedder(settings)

    def embed(texts: list[str]):
        return embedder.encode(texts, normalize_embeddings=True, convert_to_numpy=True)

    started = time.perf_counter()
    predictions, guard = [], GuardCounts()
    for text in tqdm(documents, desc="summarize product", unit="document"):
        summary = summarize(specialist, embed, [Document(1, text)], length)  # type: ignore[arg-type]
        predictions.append(" ".join(sentence.text for sentence in summary.sentences))
        for key, value in vars(summary.guard).items():
            setattr(guard, key, getattr(guard, key) + value)
    seconds = time.perf_counter() - started
    return {
        **score(predictions),
        "adapter_version": specialist.adapter_version,
        "length": length,
        "guard": vars(guard),
        "guard_unsupported_rate": round(100 * guard.unsupported / max(1, guard.mentions), 2),
        "seconds": round(seconds, 1),
        "prompts_per_s": round(len(predictions) / seconds, 3),
        "examples": predictions[:5],
    }


def baseline_rows(
    settings: Settings,
    items: Sequence[SummaryItem],
    score: Callable[[list[str]], dict[str, float]],
) -> dict[str, dict[str, Any]]:
    """Rows no model writes: lead-1/2/3, the centroid extract, and the first reference itself.

    The reference row has the copying and faithfulness columns only (ROUGE against itself says
    nothing): how much the human summaries copy, and how often they name what the article does
    not, is the yardstick for the models' figures.
    """
    from specialist.models import load_embedder

    documents = [item.document for item in items]
    rows = {f"lead-{count}": score([lead(d, count) for d in documents]) for count in (1, 2, 3)}
    rows["centroid"] = score(centroid_summaries(documents, load_embedder(settings)))
    rows["reference"] = summary_columns([item.references[0] for item in items], documents)
    return rows


def evaluate_rag(
    settings: Settings,
    data: Path,
    models: Sequence[str],
    adapter: str | None,
    limit: int | None,
    out: Path | None,
    batch_size: int = 8,
    max_new_tokens: int = 64,
) -> dict[str, Any]:
    """Grounded answering on held-out RAFT questions for each model."""
    items = load_rag_items(data, limit)
    fingerprint = {
        "data": sha256_file(data),
        "limit": limit,
        "model": [settings.base_model, settings.serve_dtype],
    }
    keep = previous_results(out, fingerprint)
    results = run_models(
        settings,
        "rag",
        models,
        adapter,
        lambda tok: [render(tok, item.prompt) for item in items],
        lambda predictions: rag_scores(predictions, items),
        max_new_tokens,
        batch_size,
        keep,
    )
    report = {
        "kind": "rag",
        "data": str(data),
        "questions": len(items),
        "fingerprint": fingerprint,
        "results": results,
    }
    _write(out, report)
    return report


def _write(out: Path | None, report: dict[str, Any]) -> None:
    if out is None:
        return
    from specialist.versions import atomic_write_text

    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(report, indent=2) + "\n")

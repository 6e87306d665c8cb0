"""Score the summary-request recognizer (:func:`engine.router.summary_intent`) on a labelled split.

``python -m evaluation.router_eval [--split train|dev|test|test_blind]`` reads ``corpora/router/<split>.jsonl``
(``{"text", "summary", "topic", "pasted"}`` a line), prints precision, recall and F1 of "this is
a summary request", how often pasted text is recognized as such, how well the topic is extracted
and how long a call takes, and writes the same numbers with every error to
``reports/router/<split>.json``.

Topics are compared after :func:`normalize` (case, spacing, edge punctuation, a leading article),
because "the Black Death" and "Black Death" retrieve the same passages. Exact match counts the
summary requests (gold and predicted) whose topic is the gold one, None for None included;
containment also lets the predicted topic carry extra words around the gold one ("key events of
the French and Indian War" for "French and Indian War"), which retrieval shrugs off.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any

from engine.router import SummaryIntent, summary_intent
from specialist.errors import UserError
from specialist.settings import PROJECT_ROOT
from specialist.versions import atomic_write_text
from training.data import read_records

SPLITS = ("train", "dev", "test", "test_blind")
DATA = PROJECT_ROOT / "corpora" / "router"
REPORTS = PROJECT_ROOT / "reports" / "router"
TIMING_ROUNDS = 20


@dataclass(frozen=True)
class Example:
    """One labelled message: is it a summary request, about what, with pasted text or not."""

    text: str
    summary: bool
    topic: str | None
    pasted: bool


def load_split(split: str) -> list[Example]:
    """The labelled messages of ``corpora/router/<split>.jsonl``, validated."""
    path = DATA / f"{split}.jsonl"
    examples = []
    for number, record in read_records(path):
        try:
            example = Example(record["text"], record["summary"], record["topic"], record["pasted"])
        except KeyError as exc:
            raise UserError(f"{path}:{number}: not a labelled request, no {exc}") from None
        if not isinstance(example.summary, bool) or not isinstance(example.pasted, bool):
            raise UserError(f"{path}:{number}: summary and pasted must be true or false")
        examples.append(example)
    return examples


def normalize(topic: str | None) -> str | None:
    """``topic`` lower-cased, spaces collapsed, edge punctuation and a leading article dropped."""
    if topic is None:
        return None
    words = re.sub(r"\s+", " ", topic.casefold()).strip(" .,;:!?\"'")
    return re.sub(r"^(?:the|a|an) ", "", words)


def contains(predicted: str | None, gold: str | None) -> bool:
    """Whether the predicted topic holds the gold one as whole words (None only holds None)."""
    if predicted is None or gold is None:
        return predicted is gold
    return f" {normalize(gold)} " in f" {normalize(predicted)} "


def ratio(part: int, whole: int) -> float:
    """``part / whole``, 0.0 for an empty whole, rounded for the report."""
    return round(part / whole, 4) if whole else 0.0


def score(examples: list[Example]) -> dict[str, Any]:
    """Detection, pasted-text, topic and timing numbers of the recognizer on ``examples``."""
    intents = [summary_intent(example.text) for example in examples]
    pairs = list(zip(examples, intents, strict=True))
    true_positive = sum(1 for e, i in pairs if e.summary and i is not None)
    predicted = sum(1 for i in intents if i is not None)
    gold = sum(1 for e in examples if e.summary)
    precision, recall = ratio(true_positive, predicted), ratio(true_positive, gold)
    f1 = round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0
    both = [(e, i) for e, i in pairs if e.summary and i is not None]
    pasted_right = sum(1 for e, i in both if e.pasted == (i.pasted is not None))
    exact = sum(1 for e, i in both if normalize(i.topic) == normalize(e.topic))
    held = sum(1 for e, i in both if contains(i.topic, e.topic))
    errors = [error(e, i) for e, i in pairs if not agrees(e, i)]
    return {
        "examples": len(examples),
        "summary_requests": gold,
        "questions": len(examples) - gold,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "pasted_accuracy": ratio(pasted_right, len(both)),
        "topic_exact": ratio(exact, len(both)),
        "topic_contains": ratio(held, len(both)),
        "microseconds_per_call": timing([e.text for e in examples]),
        "errors": errors,
    }


def agrees(example: Example, intent: SummaryIntent | None) -> bool:
    """Whether the recognizer got ``example`` fully right: detection, pasted text and topic."""
    if intent is None or not example.summary:
        return (intent is None) == (not example.summary)
    same_topic = normalize(intent.topic) == normalize(example.topic)
    return example.pasted == (intent.pasted is not None) and same_topic


def error(example: Example, intent: SummaryIntent | None) -> dict[str, Any]:
    """One wrong answer for the report: the message (cut short), the labels, the prediction."""
    got = None
    if intent is not None:
        pasted = None if intent.pasted is None else f"{len(intent.pasted.split())} words"
        got = {
            "topic": intent.topic,
            "pasted": pasted,
            "length": intent.length,
            "focus": intent.focus,
        }
    text = example.text if len(example.text) <= 160 else example.text[:157] + "..."
    gold = {"summary": example.summary, "topic": example.topic, "pasted": example.pasted}
    return {"text": text, "gold": gold, "predicted": got}


def timing(texts: list[str]) -> dict[str, float]:
    """Microseconds a call takes: the mean over :data:`TIMING_ROUNDS` passes of ``texts``, and
    the slowest message's median over its rounds (a median, so that one pause of a busy machine
    is not taken for the recognizer's cost)."""
    rounds: list[list[float]] = [[] for _ in texts]
    for _ in range(TIMING_ROUNDS):
        for times, text in zip(rounds, texts, strict=True):
            start = time.perf_counter()
            summary_intent(text)
            times.append(time.perf_counter() - start)
    mean = sum(map(sum, rounds)) / (TIMING_ROUNDS * len(texts))
    slowest = max(statistics.median(times) for times in rounds)
    return {"mean": round(mean * 1e6, 1), "slowest_message_median": round(slowest * 1e6, 1)}


def main(argv: list[str] | None = None) -> int:
    """Score one split, print the numbers, write ``reports/router/<split>.json``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=SPLITS, default="dev", help="labelled split to score")
    args = parser.parse_args(argv)
    try:
        report = {"split": args.split, **score(load_split(args.split))}
    except UserError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(
        f"{args.split}: {report['examples']} messages ({report['summary_requests']} summary "
        f"requests), precision {report['precision']:.3f} recall {report['recall']:.3f} "
        f"F1 {report['f1']:.3f}; pasted {report['pasted_accuracy']:.3f}, topic exact "
        f"{report['topic_exact']:.3f} contains {report['topic_contains']:.3f}; "
        f"{report['microseconds_per_call']['mean']:.0f} us a call "
        f"(slowest message {report['microseconds_per_call']['slowest_message_median']:.0f}); "
        f"{len(report['errors'])} errors"
    )
    REPORTS.mkdir(parents=True, exist_ok=True)
    atomic_write_text(REPORTS / f"{args.split}.json", json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``specialist eval followups``: how well follow-up questions are answered, per condense method.

A follow-up ("When was he named by Nixon?") only makes sense after the turns before it. Each
conversation of the set (``corpora/training/followups.jsonl``, written on the dev articles of
``qa_split.json``, every turn with its gold answer) is played turn by turn through the product's
pipeline once per method of :data:`engine.conversation.CONDENSERS`: the method builds the question
retrieval and the reader get from the earlier turns, and the product's own answers become the
history of the next turn, as in a live chat. Only follow-ups are scored (the first turn is the same
for every method): retrieval recall@1 and recall@k (the top chunk, or one of the top k, comes from
the conversation's article and holds a gold span) and contains-gold (the answer holds a gold span).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evaluation.cli import positive
from specialist.errors import UserError
from specialist.prompt import Turn
from specialist.settings import PROJECT_ROOT, Settings
from specialist.text import holds_answer
from specialist.versions import atomic_write_text
from training.raft import Paragraph
from training.raft import Question as Gold

if TYPE_CHECKING:
    from engine.answering import Grounded, Question
    from engine.conversation import Condense
    from retrieval.search import Hit, HybridIndex

FOLLOWUPS = PROJECT_ROOT / "corpora" / "training" / "followups.jsonl"
CORPUS = PROJECT_ROOT / "corpora" / "xquad"


@dataclass(frozen=True)
class Conversation:
    """Questions asked one after the other about one article; every one after the first is a
    follow-up that leaves out what it refers to."""

    id: str
    article: str
    turns: list[Gold]


def load_conversations(path: Path) -> list[Conversation]:
    """The conversations of a follow-up set (one JSON object per line), validated."""
    conversations = []
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except OSError as exc:
        raise UserError(f"{path}: cannot read the follow-up set ({exc})") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            paragraph = Paragraph(record["id"], record["article"], "")
            turns = [
                Gold(t["question"], paragraph, tuple(t["answers"]), 0) for t in record["turns"]
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise UserError(
                f"{path}:{number}: not a conversation (id, article, turns[].question, "
                f"turns[].answers): {exc!r}"
            ) from None
        if len(turns) < 2 or not all(turn.answers for turn in turns):
            raise UserError(f"{path}:{number}: needs two turns or more, each with a gold answer")
        conversations.append(Conversation(record["id"], record["article"], turns))
    if not conversations:
        raise UserError(f"{path}: no conversation in the follow-up set")
    return conversations


def play(
    conversation: Conversation,
    condense: Condense,
    answer: Callable[[Question, list[Hit]], Grounded],
    index: HybridIndex,
    top_k: int,
    max_new_tokens: int,
) -> list[dict[str, Any]]:
    """Every follow-up of ``conversation`` asked in turn, scored; ``answer`` is the product."""
    from engine.conversation import conversation_question
    from evaluation.qa import score_answer

    history: list[Turn] = []
    scored = []
    for number, gold in enumerate(conversation.turns):
        question = conversation_question(
            history, gold.question, index.idf, top_k, max_new_tokens, condense
        )
        hits = index.search(question.text, k=top_k)
        result = answer(question, hits)
        if number > 0:
            verdict = score_answer(result.answer, gold, result.passages, result.tokens, 0, 0)
            scored.append(
                {
                    "conversation": conversation.id,
                    "turn": number,
                    "asked": gold.question,
                    "searched": question.text,
                    "answers": list(gold.answers),
                    "answer": result.answer,
                    "gold_rank": gold_rank(hits, conversation.article, gold.answers),
                    "contains_gold": verdict.contains_gold,
                }
            )
        history += [Turn("user", gold.question), Turn("assistant", result.answer)]
    return scored


def gold_rank(hits: list[Hit], article: str, answers: tuple[str, ...]) -> int | None:
    """Rank (from 1) of the first hit of ``article`` holding a gold span, None when none does.

    A short gold answer ("four", "1999") is found in chunks of other articles too; only the
    conversation's own article counts as retrieving it.
    """
    for rank, hit in enumerate(hits, 1):
        if hit.title == article and holds_answer(hit.text, answers):
            return rank
    return None


def evaluate_followups(
    settings: Settings, data: Path, corpus: Path, out: Path, top_k: int, max_new_tokens: int
) -> dict[str, Any]:
    """Each method on every conversation; ``report.json`` and ``answers.jsonl`` in ``out``."""
    from tqdm import tqdm

    from engine.answering import AnswerPolicy, grounded_answer
    from engine.conversation import CONDENSERS, SERVED
    from engine.loader import load_specialist
    from evaluation.qa import percent
    from retrieval.indexer import build_index
    from retrieval.search import open_index

    conversations = load_conversations(data)
    root = settings.home / "eval-indexes" / "followups"
    build_index(settings, corpus, root=root)
    index = open_index(settings, root=root)
    if index is None:
        raise UserError(f"{corpus}: no document to index for the follow-up evaluation")
    specialist = load_specialist(settings)
    policy = AnswerPolicy.from_settings(settings)

    def answer(question: Question, hits: list[Hit]) -> Grounded:
        return grounded_answer(
            specialist,
            index,
            question.text,
            hits,
            question.max_new_tokens,
            policy,
            history=question.history,
        )

    rows, answers = {}, []
    for name, condense in CONDENSERS.items():
        scored = [
            row
            for c in tqdm(conversations, desc=name, unit="conversation")
            for row in play(c, condense, answer, index, top_k, max_new_tokens)
        ]
        answers += [{"method": name, **row} for row in scored]
        ranks = [row["gold_rank"] for row in scored]
        rows[name] = {
            **{
                f"recall@{k}": percent(sum(r is not None and r <= k for r in ranks), len(ranks))
                for k in sorted({1, top_k})
            },
            "contains_gold": percent(sum(row["contains_gold"] for row in scored), len(scored)),
        }
    report = {
        "followups": len(answers) // len(CONDENSERS),
        "conversations": len(conversations),
        "served_method": SERVED,
        "rows": rows,
        "data": str(data),
        "corpus": str(corpus),
        "index_version": index.version,
        "adapter_version": specialist.adapter_version,
        "base_model": settings.base_model,
        "reader": settings.reader,
        "top_k": top_k,
    }
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "report.json", json.dumps(report, indent=2) + "\n")
    atomic_write_text(
        out / "answers.jsonl",
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in answers),
    )
    return report


def register_eval(kinds: argparse._SubParsersAction) -> None:
    """Attach ``eval followups``."""
    parser = kinds.add_parser(
        "followups", help="follow-up questions: recall and contains-gold per condense method"
    )
    parser.add_argument(
        "--data", type=Path, default=FOLLOWUPS, help=f"conversations JSONL (default {FOLLOWUPS})"
    )
    parser.add_argument(
        "--corpus", type=Path, default=CORPUS, help=f"documents searched (default {CORPUS})"
    )
    parser.add_argument("--out", type=Path, help="report folder (default <home>/eval/followups)")
    parser.add_argument(
        "--top-k", type=positive, default=4, help="passages per question (default 4)"
    )
    parser.add_argument(
        "--max-new-tokens", type=positive, default=64, help="answer cap for the generating reader"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate every method, print the table, write the report."""
    from rich.console import Console
    from rich.table import Table

    from specialist.settings import load_settings

    settings = load_settings()
    out = args.out or settings.home / "eval" / "followups"
    report = evaluate_followups(
        settings, args.data, args.corpus, out, args.top_k, args.max_new_tokens
    )
    table = Table(
        title=f"{report['followups']} follow-ups in {report['conversations']} conversations "
        f"(reader {report['reader']}, adapter {report['adapter_version']})"
    )
    metrics = list(next(iter(report["rows"].values())))
    table.add_column("method")
    for metric in metrics:
        table.add_column(f"{metric} %", justify="right")
    for name, row in report["rows"].items():
        label = f"{name} (served)" if name == report["served_method"] else name
        table.add_row(label, *(f"{row[m]:.2f}" for m in metrics))
    console = Console()
    console.print(table)
    console.print(f"wrote {out / 'report.json'} and {out / 'answers.jsonl'}")
    return 0

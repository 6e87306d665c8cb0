"""Commands of the training package: ``train``, ``data``, ``adapters`` and ``eval summarize|rag``.

Heavy imports (torch, transformers, peft) happen inside the handlers so ``specialist --help``
stays fast.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from specialist.settings import PROJECT_ROOT, load_settings
from training.raft import RaftOptions

QA_SPLIT = PROJECT_ROOT / "corpora" / "training" / "qa_split.json"

DATA_FORMATS = ("dialogsum", "document-summary")
EVAL_MODELS = ("base", "adapter")
SUMMARY_COLUMNS = (
    "rouge1",
    "rouge2",
    "rougeL",
    "mean_words",
    "unsupported_rate",
    "copied_sentences",
    "novel_bigrams",
    "repeated_trigrams",
    "repeated_sentences",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Attach ``train``, ``data`` and ``adapters``."""
    train = subparsers.add_parser("train", help="LoRA-fine-tune the specialist on JSONL data")
    train.add_argument("--data", type=Path, nargs="+", required=True, metavar="FILE")
    train.add_argument("--config", type=Path, help="JSON hyperparameters (see configs/)")
    train.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    train.add_argument("--max-steps", type=int, help="override the config's max_steps")
    train.set_defaults(handler=run_train)

    data = subparsers.add_parser("data", help="build training JSONL from public datasets")
    kinds = data.add_subparsers(dest="data_kind", required=True, metavar="KIND")
    convert = kinds.add_parser(
        "convert", help="turn a {document, summary} file (or DialogSum) into prompt/completion"
    )
    convert.add_argument("input", type=Path)
    convert.add_argument("output", type=Path)
    convert.add_argument("--format", choices=DATA_FORMATS, default="document-summary")
    convert.add_argument(
        "--exclude",
        type=Path,
        nargs="*",
        default=[],
        metavar="FILE",
        help="files in the same format whose documents must not appear (dev/test splits)",
    )
    convert.add_argument("--limit", type=int, help="keep a seeded random sample of N examples")
    convert.add_argument("--seed", type=int, default=1234)
    convert.set_defaults(handler=run_convert)
    raft = kinds.add_parser(
        "raft", help="RAFT examples from XQuAD: question + passages with hard negatives"
    )
    raft.add_argument("--xquad", type=Path, default=Path("../shared/data/xquad/xquad.en.json"))
    raft.add_argument("--out-dir", type=Path, required=True)
    raft.add_argument("--heldout-articles", type=int, default=RaftOptions.heldout_articles)
    raft.add_argument("--no-answer-fraction", type=float, default=RaftOptions.no_answer_fraction)
    raft.add_argument("--seed", type=int, default=RaftOptions.seed)
    raft.set_defaults(handler=run_raft)

    reader = subparsers.add_parser(
        "train-reader",
        help="fit the extractive reader; choose its judge weights and decline threshold cross-fitted",
    )
    reader.add_argument("--xquad", type=Path, default=Path("../shared/data/xquad/xquad.en.json"))
    reader.add_argument("--split", type=Path, default=QA_SPLIT, help="train/dev/test articles")
    reader.add_argument("--out", type=Path, help="weights JSON to write (default: the shipped one)")
    reader.add_argument(
        "--squad2",
        type=Path,
        default=Path("../shared/data/squad2/train-v2.0-first10.json"),
        help="SQuAD 2.0 file whose questions (unanswerable ones too) are added to the fit",
    )
    reader.add_argument("--no-squad2", action="store_true", help="fit on the XQuAD articles only")
    reader.add_argument(
        "--no-judge",
        action="store_true",
        help="rank by the scorer alone (default: the active specialist judges its shortlist)",
    )
    reader.add_argument("--top-k", type=int, default=4, help="passages per question")
    reader.add_argument(
        "--target-decline",
        type=float,
        default=0.08,
        help="share of answerable held-out questions the threshold declines (default 0.08)",
    )
    reader.add_argument(
        "--folds",
        type=int,
        default=5,
        help="folds of training articles held out in turn to choose weights and threshold",
    )
    reader.set_defaults(handler=run_train_reader)

    adapters = subparsers.add_parser("adapters", help="list, activate or roll back LoRA adapters")
    actions = adapters.add_subparsers(dest="adapters_action", required=True, metavar="ACTION")
    actions.add_parser("list", help="every adapter version").set_defaults(handler=run_list)
    activate = actions.add_parser("activate", help="serve with adapter VERSION")
    activate.add_argument("version")
    activate.set_defaults(handler=run_activate)
    actions.add_parser("rollback", help="back to the previous adapter").set_defaults(
        handler=run_rollback
    )


def run_train(args: argparse.Namespace) -> int:
    """Train, register the adapter as current, and print where it went.

    Under ``torchrun`` or ``accelerate launch`` every process runs this; the first one prints.
    """
    from training.config import load_config
    from training.trainer import train

    settings = load_settings()
    config = load_config(args.config, max_steps=args.max_steps)
    result = train(settings, args.data, config, resume=args.resume)
    if result is None:  # not the first process of a distributed run: it reports
        return 0
    summary = result.metrics["train"]
    print(
        f"adapter {result.version} written to {result.path} and made current: "
        f"{summary['steps']} steps, {summary['samples_per_s']} samples/s, "
        f"dev loss {summary['dev_loss_before']:.4f} -> {summary['best_dev_loss']:.4f}"
    )
    return 0


def run_train_reader(args: argparse.Namespace) -> int:
    """Fit the reader, write its weights atomically, print the held-out figures."""
    from functools import partial

    from engine.extract import SHIPPED_WEIGHTS
    from engine.judge import question_log_probability
    from engine.loader import load_specialist
    from retrieval.corpus_xquad import xquad_index
    from specialist.errors import UserError
    from specialist.versions import atomic_write_text
    from training.data import sha256_file
    from training.raft import load_xquad
    from training.reader import Split, fit_reader

    if not 0 <= args.target_decline < 1:
        raise UserError("--target-decline must be at least 0 and below 1")
    split = Split.load(args.split)
    settings = load_settings()
    index = xquad_index(settings, args.xquad, sha256_file(args.xquad))
    extra = []
    if not args.no_squad2:
        squad2 = load_xquad(args.squad2, unanswerable=True)
        squad2_index = xquad_index(settings, args.squad2, sha256_file(args.squad2))
        extra.append((squad2_index, [q for questions in squad2.values() for q in questions]))
    judge, judged_by = None, None
    if not args.no_judge:
        specialist = load_specialist(settings)
        judge, judged_by = partial(question_log_probability, specialist), specialist.adapter_version
    weights = fit_reader(
        index,
        load_xquad(args.xquad),
        split,
        args.top_k,
        args.target_decline,
        extra=extra,
        judge=judge,
        folds=args.folds,
    )
    weights.record["judge_adapter_version"] = judged_by
    out = args.out or SHIPPED_WEIGHTS
    atomic_write_text(out, weights.to_json())
    print(f"reader weights written to {out}; held out: {json.dumps(weights.record['held_out'])}")
    return 0


def run_convert(args: argparse.Namespace) -> int:
    """Convert a summary dataset into prompt/completion JSONL (deduplicated)."""
    from training.data import FORMATS, document_keys, sample, summary_examples, write_examples

    document_field, summary_field = FORMATS[args.format]
    exclude = document_keys(args.exclude, document_field)
    examples = summary_examples(args.input, document_field, summary_field, exclude)
    count = write_examples(args.output, sample(examples, args.limit, args.seed))
    print(f"{count} examples written to {args.output}")
    return 0


def run_list(_args: argparse.Namespace) -> int:
    """Print one row per adapter version."""
    from specialist.adapters import AdapterRegistry

    settings = load_settings()
    rows = AdapterRegistry(settings).list()
    table = Table(title=f"adapters (base model: {settings.base_model}, in {settings.adapters_dir})")
    for column in ("version", "active", "base model", "created", "metrics"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row.version,
            "*" if row.active else "",
            row.base_model,
            row.created,
            json.dumps(row.metrics),
        )
    Console().print(table if rows else "no adapters yet; run `specialist train`")
    return 0


def run_activate(args: argparse.Namespace) -> int:
    """Make a version current."""
    from specialist.adapters import AdapterRegistry

    AdapterRegistry(load_settings()).activate(args.version)
    print(f"adapter {args.version} is now current")
    return 0


def run_rollback(_args: argparse.Namespace) -> int:
    """Go back to the previous version."""
    from specialist.adapters import AdapterRegistry

    version = AdapterRegistry(load_settings()).rollback()
    print(f"rolled back; adapter {version} is now current")
    return 0


def run_raft(args: argparse.Namespace) -> int:
    """Build RAFT train and held-out files from XQuAD."""
    from training.raft import build_raft

    options = RaftOptions(
        heldout_articles=args.heldout_articles,
        no_answer_fraction=args.no_answer_fraction,
        seed=args.seed,
    )
    split = build_raft(load_settings(), args.xquad, args.out_dir, options)
    print(
        f"{split['examples']} examples written to {args.out_dir} "
        f"({len(split['train_articles'])} train / {len(split['heldout_articles'])} held-out articles)"
    )
    return 0


def register_eval(kinds: argparse._SubParsersAction) -> None:
    """Attach ``eval summarize`` and ``eval rag``."""
    summarize = kinds.add_parser(
        "summarize",
        help="ROUGE-1/2/L, length, unsupported mentions and copying: base model vs adapter, "
        "beside lead-1/2/3, a centroid extract and the references",
    )
    summarize.add_argument("--data", type=Path, required=True, help="e.g. DialogSum test.jsonl")
    summarize.add_argument(
        "--exclude",
        type=Path,
        nargs="*",
        default=[],
        metavar="FILE",
        help="drop documents that also occur in these files (the training split)",
    )
    summarize.add_argument(
        "--models",
        choices=(*EVAL_MODELS, "product", "both", "all", "none"),
        default="both",
        help="product: the adapter through POST /summarize's operation (guard included); all: "
        "base, adapter and product; none: only the rows that need no model (lead-N, centroid, "
        "references)",
    )
    summarize.add_argument(
        "--length",
        choices=("short", "medium", "long"),
        default="medium",
        help="the product row's summary length (default medium, /summarize's default)",
    )
    rag = kinds.add_parser(
        "rag", help="held-out XQuAD answers: gold span, token F1, citations, abstention"
    )
    rag.add_argument("--data", type=Path, required=True, help="raft_heldout.jsonl")
    rag.add_argument("--models", choices=(*EVAL_MODELS, "both"), default="both")
    for parser in (summarize, rag):
        parser.add_argument("--adapter", help="adapter version (default: the current one)")
        parser.add_argument("--limit", type=int, help="evaluate the first N items only")
        parser.add_argument("--batch-size", type=int, default=8)
        parser.add_argument(
            "--out", type=Path, help="JSON results; earlier results of the other model are kept"
        )
    summarize.set_defaults(handler=run_eval_summarize)
    rag.set_defaults(handler=run_eval_rag)


def _models(choice: str) -> tuple[str, ...]:
    return {"both": EVAL_MODELS, "all": (*EVAL_MODELS, "product"), "none": ()}.get(
        choice, (choice,)
    )


def run_eval_summarize(args: argparse.Namespace) -> int:
    """Evaluate summaries and print the comparison table."""
    from training.evaluate import evaluate_summaries

    report = evaluate_summaries(
        load_settings(),
        args.data,
        args.exclude,
        _models(args.models),
        args.adapter,
        args.limit,
        args.out,
        args.batch_size,
        length=args.length,
    )
    title = (
        f"summaries: {report['documents']} documents "
        f"({report['fingerprint']['dropped_duplicates']} duplicates of training data dropped)"
    )
    rows = {**report["results"], **report["baselines"]}
    _print_table(title, rows, SUMMARY_COLUMNS)
    print(
        "ROUGE F1 x100; unsupported_rate, copied_sentences, novel_bigrams and repeated_trigrams "
        "in percent; repeated_sentences counts summaries"
    )
    return 0


def run_eval_rag(args: argparse.Namespace) -> int:
    """Evaluate grounded answers and print the comparison table."""
    from training.evaluate import evaluate_rag

    report = evaluate_rag(
        load_settings(),
        args.data,
        _models(args.models),
        args.adapter,
        args.limit,
        args.out,
        args.batch_size,
    )
    columns = (
        "contains_gold",
        "token_f1",
        "citation_correct",
        "abstention_correct",
        "false_abstention",
    )
    _print_table(f"held-out RAG: {report['questions']} questions", report["results"], columns)
    return 0


def _print_table(title: str, results: dict, columns: tuple[str, ...]) -> None:
    table = Table(title=title)
    table.add_column("model")
    table.add_column("adapter")
    for column in (*columns, "prompts_per_s"):
        table.add_column(column, justify="right")
    for name, scores in results.items():
        table.add_row(
            name,
            scores.get("adapter_version") or "-",
            *(str(scores.get(c, "-")) for c in (*columns, "prompts_per_s")),
        )
    Console(width=160).print(table)

"""The Markdown report written next to the JSON: the tables people read, and the figures."""

from __future__ import annotations

from typing import Any

QA_COLUMNS = (
    ("contains_gold", "contains gold %"),
    ("token_f1", "token F1"),
    ("citation_correct", "citation correct %"),
    ("abstention_withheld", "abstains, answer withheld %"),
    ("abstained", "abstains, all questions %"),
    ("mean_words", "mean words"),
    ("latency_p50_s", "p50 s"),
    ("latency_p95_s", "p95 s"),
    ("tokens_per_s", "tokens/s"),
)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}" if 0 < abs(value) < 1 else f"{value:.2f}"
    return str(value)


def table(header: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def qa_table(report: dict[str, Any]) -> str:
    """Every system on grounded QA, quality and cost; the README shows this table too."""
    systems = report["qa"]["systems"]
    return table(
        ["system", *(name for _, name in QA_COLUMNS)],
        [
            [report["systems"][key], *(scores.get(metric) for metric, _ in QA_COLUMNS)]
            for key, scores in systems.items()
        ],
    )


def summary_text(block: dict[str, Any]) -> str:
    """How one summary set was scored."""
    return (
        f"{block['documents']} documents ({block['dropped_duplicates']} dropped as duplicates of "
        "training data); ROUGE F1 x100, best of the references; references average "
        f"{block['reference_mean_words']} words. Retrieval plays no part here, so each model's "
        "figures stand for both systems it serves."
    )


def summary_table(block: dict[str, Any]) -> str:
    """Each model's ROUGE, length and speed on one summary set."""
    return table(
        ["model", "ROUGE-1", "ROUGE-2", "ROUGE-L", "mean words", "documents/s"],
        [
            [
                name,
                scores["rouge1"],
                scores["rouge2"],
                scores["rougeL"],
                scores["mean_words"],
                scores["documents_per_s"],
            ]
            for name, scores in block["models"].items()
        ],
    )


def summary_parts(report: dict[str, Any]) -> list[str]:
    """The summarization section, when the run summarized (``--skip-summaries`` leaves it out)."""
    if "summaries" not in report:
        return []
    return [
        "## Summarization",
        f"`--summaries` set (dialogues by default, DialogSum test): "
        f"{summary_text(report['summaries'])}",
        summary_table(report["summaries"]),
        "![summarization](summaries.png)",
        f"`--news` set (news articles by default, the shipped CNN/DailyMail test slice): "
        f"{summary_text(report['news'])}",
        summary_table(report["news"]),
        "![news summarization](news.png)",
    ]


def losses(report: dict[str, Any]) -> str:
    """Where the product's misses come from: a gold answer never shown, or shown and not used."""
    product = report["qa"]["systems"].get("product", {})
    if "gold_shown" not in product:
        return ""
    return (
        f"The oracle row is the share of questions whose gold answer was in what the product's "
        f"reader was given: {product['gold_shown']:.1f}%. Of all questions, "
        f"{product['lost_not_shown']:.1f}% were missed because the gold answer was never shown "
        f"and {product['lost_shown_not_used']:.1f}% because it was shown but not used (each "
        "answer's `gold_shown` is in `answers.jsonl`)."
    )


def reader_sentence(config: dict[str, Any]) -> str:
    """How the product row read its passages."""
    if config.get("reader") != "extract":
        return f"The product's reader: `{config.get('reader')}`."
    judge = config.get("reader_judge_weight", 0.0)
    signals = config.get("reader_answerability", [])
    judged = f", the specialist judging its 4 best with weight {judge}" if judge else ""
    model = (
        f"an answerability model over {len(signals)} signals ({', '.join(signals)})"
        if signals
        else "the chosen sentence's probability"
    )
    return (
        f"The product's reader: `extract` (`{config['reader_weights']}`{judged}); it declines "
        f"when {model} falls below {config.get('reader_threshold', 0.0):.3f}."
    )


def render_report(report: dict[str, Any]) -> str:
    """The whole report as Markdown."""
    config, qa, retrieval = report["config"], report["qa"], report["retrieval"]
    limited = f", limited to {config['limit']} per task" if config["limit"] else ""
    parts = [
        "# specialist: RAG, fine-tuning and both, side by side",
        f"`specialist eval all` on {report['created']}{limited}; wall time "
        f"{report['wall_seconds'] / 60:.1f} min. Base model `{config['base_model']}`, adapter "
        f"`{config['adapter_version']}`, weights {config['serve_dtype']}, {config['threads']} "
        f"torch threads, greedy decoding, seed {config['seed']}.",
        "## Grounded QA (held-out articles)",
        f"{qa['questions']} questions from {len(qa['articles'])} articles the adapter never saw "
        f"({qa['excluded_training_articles']} training articles excluded; they stay in the index "
        f"as distractors). Retrieval: hybrid index {qa['index_version']} ({qa['chunks']} chunks), "
        f"top {config['top_k']}; the top {config['top_k']} hits hold the gold answer "
        f"for {qa['gold_in_top_k']:.1f}% of questions. {reader_sentence(config)} "
        f"Generated answers get a {config['prompt_token_budget']}-token passage budget and a "
        f"relevance floor of {config['min_relevance']}, and stop at "
        f"{config['max_new_tokens']} new tokens. Citation and withheld-answer abstention apply to "
        f"systems with retrieval only; abstention is measured on {qa['withheld_questions']} "
        "questions asked again with every passage holding the answer removed.",
        qa_table(report),
        losses(report),
        "![grounded QA](qa.png)",
        "![latency](latency.png)",
        *summary_parts(report),
        "## Retrieval",
        f"{retrieval['queries']} queries of `{retrieval['dataset']}` ({retrieval['split']}), "
        f"{retrieval['chunks']} chunks.",
        table(
            ["method", "nDCG@10", "Recall@10"],
            [
                [method, scores["ndcg@10"], scores["recall@10"]]
                for method, scores in retrieval["rows"].items()
            ],
        ),
        "![retrieval](retrieval.png)",
    ]
    if "loss_curve.png" in report["figures"]:
        parts += ["## The adapter's training", "![training loss](loss_curve.png)"]
    parts += [
        "## Data",
        table(
            ["input", "path", "sha256", "check"],
            [
                [name, f"`{entry['path']}`", f"`{entry['sha256'][:16]}…`", entry["check"]]
                for name, entry in report["data"].items()
            ],
        ),
        "## Examples",
    ]
    for example in qa["examples"]:
        parts.append(f"**{example['question']}** (gold: {' / '.join(example['answers'])})")
        parts.append(
            "\n".join(f"- {report['systems'][k]}: {a!r}" for k, a in example["answers_by"].items())
        )
    return "\n\n".join(parts) + "\n"

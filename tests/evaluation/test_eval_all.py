"""``specialist eval all`` end to end on small user-style data built from the shipped corpora.

The data is built in the test (SQuAD layout from ``corpora/xquad`` and the held-out RAFT questions,
a ``{document, summary}`` file, a BEIR folder) so the suite runs on a fresh clone without
``../shared``, and so the run proves the command takes any data in those formats, not only ours.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from specialist.settings import PROJECT_ROOT

LIMIT = 3
ARTICLES = 6
"""Articles in the built data: enough for distractors, few enough to index in seconds."""
CORPUS = PROJECT_ROOT / "corpora" / "xquad"
HELDOUT = PROJECT_ROOT / "corpora" / "training" / "raft_heldout.jsonl"


def paragraphs(markdown: Path) -> tuple[str, list[str]]:
    """Title and paragraphs of one shipped article."""
    head, *body = markdown.read_text().split("\n\n")
    return head.removeprefix("# ").strip(), [p.strip() for p in body if p.strip()]


def build_data(folder: Path) -> dict[str, Path]:
    """SQuAD file, summaries JSONL and BEIR folder from the shipped articles and questions."""
    questions: dict[str, list[dict]] = {}
    for line in HELDOUT.read_text().splitlines():
        record = json.loads(line)
        questions.setdefault(record["article"], []).append(record)
    articles, corpus, queries, qrels = [], [], [], ["query-id\tcorpus-id\tscore"]
    shipped = sorted(CORPUS.glob("*.md"))
    with_questions = [m for m in shipped if paragraphs(m)[0] in questions]
    for markdown in with_questions[:ARTICLES]:
        title, texts = paragraphs(markdown)
        squad_paragraphs = [{"context": text, "qas": []} for text in texts]
        for number, record in enumerate(questions.get(title, [])[:4]):
            answer = record["answers"][0]
            where = next((i for i, t in enumerate(texts) if answer in t), None)
            if where is None:
                continue
            qid = f"{markdown.stem}-{number}"
            squad_paragraphs[where]["qas"].append(
                {
                    "id": qid,
                    "question": record["question"],
                    "answers": [{"text": answer, "answer_start": texts[where].index(answer)}],
                }
            )
            queries.append({"_id": qid, "text": record["question"]})
            qrels.append(f"{qid}\t{markdown.stem}-{where}\t1")
        articles.append({"title": title, "paragraphs": squad_paragraphs})
        corpus += [
            {"_id": f"{markdown.stem}-{i}", "title": title, "text": text}
            for i, text in enumerate(texts)
        ]
    squad = folder / "squad.json"
    squad.write_text(json.dumps({"version": "1.1", "data": articles}))
    summaries = folder / "summaries.jsonl"
    summaries.write_text(
        "".join(
            json.dumps({"document": doc["text"], "summary": doc["text"].split(". ")[0]}) + "\n"
            for doc in corpus[:: max(1, len(corpus) // 10)]
        )
    )
    beir = folder / "beir"
    (beir / "qrels").mkdir(parents=True)
    (beir / "corpus.jsonl").write_text("".join(json.dumps(doc) + "\n" for doc in corpus))
    (beir / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (beir / "qrels" / "test.tsv").write_text("\n".join(qrels) + "\n")
    return {"squad": squad, "summaries": summaries, "beir": beir}


@pytest.fixture(scope="module")
def user_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_data(tmp_path_factory.mktemp("user-data"))


@pytest.fixture(scope="module")
def quick_run(settings, base_model, user_data, tmp_path_factory) -> tuple[dict, Path]:
    """One ``--limit 3`` run of every system with the real models and the shipped adapter."""
    from evaluation.data import resolve_data
    from evaluation.run import Options, evaluate_all

    out = tmp_path_factory.mktemp("report")
    data = resolve_data(None, user_data["squad"], user_data["summaries"], user_data["beir"])
    options = Options(limit=LIMIT, withheld=2, max_new_tokens=24)
    return evaluate_all(settings, data, out, options), out


def assert_number(value: object, low: float, high: float, what: str) -> None:
    assert isinstance(value, int | float) and not isinstance(value, bool), what
    assert math.isfinite(value) and low <= value <= high, f"{what} = {value}"


PERCENT = {
    "contains_gold",
    "token_f1",
    "citation_correct",
    "abstention_withheld",
    "abstained",
    "gold_shown",
    "lost_not_shown",
    "lost_shown_not_used",
}
SYSTEM_KEYS = ["extractive", "base", "base+rag", "specialist", "specialist+rag", "product"]
CLOSED_BOOK = {"base", "specialist"}
NO_MODEL_OR_EXTRACTIVE = {"extractive", "product"}


def test_report_has_every_system_with_valid_metrics(quick_run) -> None:
    report, _ = quick_run
    systems = report["qa"]["systems"]
    assert list(systems) == [*SYSTEM_KEYS, "oracle"]
    assert report["qa"]["questions"] == LIMIT
    for key in SYSTEM_KEYS:
        scores = systems[key]
        retrieval = key not in CLOSED_BOOK
        assert ("citation_correct" in scores) == retrieval
        assert ("abstention_withheld" in scores) == retrieval
        assert ("gold_shown" in scores) == retrieval
        for metric, value in scores.items():
            high = 100 if metric in PERCENT else 1e6
            assert_number(value, 0, high, f"{key} {metric}")
        assert scores["latency_p95_s"] >= scores["latency_p50_s"] > 0
        if key not in NO_MODEL_OR_EXTRACTIVE:
            assert scores["mean_tokens"] <= 24
    assert_number(report["qa"]["gold_in_top_k"], 0, 100, "gold_in_top_k")


def test_oracle_row_is_what_the_product_read_and_bounds_it(quick_run) -> None:
    report, out = quick_run
    systems = report["qa"]["systems"]
    product = systems["product"]
    assert systems["oracle"] == {"contains_gold": product["gold_shown"]}
    assert systems["oracle"]["contains_gold"] >= product["contains_gold"]
    assert product["lost_not_shown"] + product["lost_shown_not_used"] == pytest.approx(
        100 - product["contains_gold"], abs=0.02
    )
    for line in (out / "answers.jsonl").read_text().splitlines():
        answer = json.loads(line)["systems"]["product"]
        assert isinstance(answer["gold_shown"], bool)
        assert not answer["contains_gold"] or answer["gold_shown"]


def test_report_summaries_retrieval_and_config(quick_run) -> None:
    report, _ = quick_run
    for task in ("summaries", "news"):
        assert report[task]["documents"] == LIMIT
        for model in ("base", "specialist"):
            for metric in ("rouge1", "rouge2", "rougeL"):
                assert_number(report[task]["models"][model][metric], 0, 100, f"{task} {metric}")
    assert report["data"]["news"]["path"].endswith("cnn_dailymail/test.jsonl")
    assert set(report["retrieval"]["rows"]) == {"dense", "bm25", "hybrid"}
    for scores in report["retrieval"]["rows"].values():
        assert_number(scores["ndcg@10"], 0, 1, "ndcg@10")
        assert_number(scores["recall@10"], 0, 1, "recall@10")
    config = report["config"]
    assert config["adapter_version"] and config["decoding"] == "greedy"
    assert config["limit"] == LIMIT and config["seed"] == 0
    assert all(len(entry["sha256"]) == 64 for entry in report["data"].values())
    assert report["wall_seconds"] > 0


def test_report_files_and_plots_are_written(quick_run) -> None:
    report, out = quick_run
    assert json.loads((out / "report.json").read_text()) == report
    markdown = (out / "report.md").read_text()
    assert "5. specialist + retrieval as served (product)" in markdown
    assert "oracle: gold answer in what the product read" in markdown
    figures = (
        "qa.png",
        "summaries.png",
        "news.png",
        "retrieval.png",
        "latency.png",
        "loss_curve.png",
    )
    for figure in figures:
        assert figure in report["figures"]
        assert (out / figure).read_bytes().startswith(b"\x89PNG")
        assert f"({figure})" in markdown
    lines = (out / "answers.jsonl").read_text().splitlines()
    assert len(lines) == LIMIT
    assert list(json.loads(lines[0])["systems"]) == SYSTEM_KEYS


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "specialist.cli", "eval", "all", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_bad_data_is_refused_with_one_sentence(user_data, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"data": [{"title": "x"}]}')
    result = run_cli(
        "--squad", str(broken), "--summaries", str(user_data["summaries"]),
        "--beir", str(user_data["beir"]), "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert result.returncode == 2
    assert "not in SQuAD layout" in result.stderr and "Traceback" not in result.stderr
    unknown = run_cli("--systems", "product,oracle", "--out", str(tmp_path / "out"))
    assert unknown.returncode == 2 and "unknown system oracle" in unknown.stderr
    missing = run_cli("--data-dir", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "no such folder" in missing.stderr
    assert not (tmp_path / "out").exists()

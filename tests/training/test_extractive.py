"""Lead-N and the centroid extract on real news, and ``eval summarize``'s reference rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specialist.settings import PROJECT_ROOT
from training.evaluate import evaluate_summaries, rouge_scores
from training.extractive import centroid_summaries, lead
from training.summary_metrics import summary_sentences

NEWS = PROJECT_ROOT / "corpora" / "summaries" / "cnn_dailymail" / "test.jsonl"


@pytest.fixture(scope="module")
def articles() -> list[dict[str, str]]:
    return [json.loads(line) for line in NEWS.read_text(encoding="utf-8").splitlines()]


def test_lead_3_on_the_shipped_news_slice_scores_the_published_figures(articles) -> None:
    """The figures the README quotes for lead-3 on these 150 articles (64 words)."""
    assert len(articles) == 150
    first = lead(articles[0]["document"], 3)
    assert first.splitlines() == summary_sentences(articles[0]["document"])[:3]
    assert first.startswith("(CNN)Wanted: film director")
    leads = [lead(a["document"], 3) for a in articles]
    scores = rouge_scores(leads, [[a["summary"]] for a in articles])
    assert scores == {"rouge1": 33.74, "rouge2": 15.06, "rougeL": 24.02}


def test_centroid_takes_the_most_central_sentences_in_document_order(articles, embedder) -> None:
    documents = [a["document"] for a in articles[:3]] + ["Only one sentence here."]
    summaries = centroid_summaries(documents, embedder)
    assert summaries[-1] == "Only one sentence here."
    for document, summary in zip(documents[:-1], summaries[:-1], strict=True):
        picked = summary.splitlines()
        whole = summary_sentences(document)
        assert len(picked) == 3
        positions = [whole.index(sentence) for sentence in picked]
        assert positions == sorted(positions)
        vectors = embedder.encode(whole, normalize_embeddings=True)
        central = vectors @ vectors.mean(axis=0)
        assert min(central[positions]) >= max(
            central[i] for i in range(len(whole)) if i not in positions
        )
    assert any(s != lead(d, 3) for d, s in zip(documents, summaries, strict=True))


def test_reference_rows_come_with_every_run_and_resumed_model_rows_stay(
    articles, settings, tmp_path: Path
) -> None:
    data = tmp_path / "news.jsonl"
    data.write_text("".join(json.dumps(a) + "\n" for a in articles[:4]), encoding="utf-8")
    out = tmp_path / "report.json"
    first = evaluate_summaries(settings, data, [], (), None, None, out)
    assert first["results"] == {}
    saved = json.loads(out.read_text())
    earlier = {"rouge1": 1.0, "rouge2": 0.5, "rougeL": 1.0, "mean_words": 9.0}
    saved["results"]["base"] = earlier
    saved["fingerprint"]["model"] = [settings.base_model, "a dtype this run does not use"]
    out.write_text(json.dumps(saved))

    report = evaluate_summaries(settings, data, [], (), None, None, out)
    assert report["results"] == {"base": earlier}
    assert json.loads(out.read_text())["results"] == {"base": earlier}
    rows = report["baselines"]
    assert list(rows) == ["lead-1", "lead-2", "lead-3", "centroid", "reference"]
    leads = [lead(a["document"], 3) for a in articles[:4]]
    assert (
        rows["lead-3"]["rouge1"]
        == rouge_scores(leads, [[a["summary"]] for a in articles[:4]])["rouge1"]
    )
    for name in ("lead-1", "lead-2", "lead-3", "centroid"):
        assert rows[name]["copied_sentences"] == 100.0
        assert rows[name]["unsupported_rate"] == 0.0
    assert "rouge1" not in rows["reference"]
    assert rows["reference"]["mean_words"] == report["reference_mean_words"]
    assert rows["reference"]["novel_bigrams"] > 20

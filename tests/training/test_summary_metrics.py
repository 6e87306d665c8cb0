"""The copy, novelty, repetition and faithfulness columns on small real summaries."""

from __future__ import annotations

import json

import pytest

from specialist.settings import PROJECT_ROOT
from training.summary_metrics import (
    copied_sentences,
    mean_words,
    novel_bigrams,
    repeated_sentences,
    repeated_trigrams,
    summary_columns,
    summary_sentences,
    unsupported_rate,
)

NEWS = PROJECT_ROOT / "corpora" / "summaries" / "cnn_dailymail" / "test.jsonl"
HIGHLIGHTS = (
    'Michelle MacLaren is no longer set to direct the first "Wonder Woman" theatrical movie .\n'
    'MacLaren left the project over "creative differences"\n'
    "Movie is currently set for 2017 ."
)
FIRST = "MacLaren was announced as director of the movie in November."


@pytest.fixture(scope="module")
def articles() -> list[dict[str, str]]:
    return [json.loads(line) for line in NEWS.read_text(encoding="utf-8").splitlines()]


def test_highlights_end_at_line_breaks(articles) -> None:
    assert articles[0]["summary"] == HIGHLIGHTS
    assert summary_sentences(HIGHLIGHTS) == [
        'Michelle MacLaren is no longer set to direct the first "Wonder Woman" theatrical movie .',
        'MacLaren left the project over "creative differences"',
        "Movie is currently set for 2017 .",
    ]


def test_copied_sentences_counts_verbatim_sentences_spacing_aside(articles) -> None:
    document = articles[0]["document"]
    assert FIRST in document
    spaced = FIRST.replace(" of ", "  of\t")
    assert copied_sentences([f"{spaced} She left in 2015."], [document]) == 50.0
    assert copied_sentences([HIGHLIGHTS], [document]) == 0.0


def test_novel_bigrams_are_bigrams_the_document_lacks(articles) -> None:
    document = articles[0]["document"]
    assert novel_bigrams([FIRST], [document]) == 0.0
    # One word changed: 2 of the sentence's 9 bigrams ("was named", "named as") are new.
    assert novel_bigrams([FIRST.replace("announced", "named")], [document]) == round(200 / 9, 2)


def test_repeated_trigrams_and_sentences_catch_a_looping_summary() -> None:
    looping = "MacLaren left the movie in November. MacLaren left the project in 2015."
    # 8 trigrams (4 a sentence; none spans the two), of which "maclaren left the" comes again.
    assert repeated_trigrams([looping]) == 12.5
    assert repeated_trigrams([HIGHLIGHTS]) == 0.0
    stuck = f"{FIRST} {FIRST.upper()}"
    assert repeated_sentences([looping, stuck, HIGHLIGHTS]) == 1


def test_unsupported_rate_is_the_share_of_mentions_the_article_lacks(articles) -> None:
    highlight = "Lewis Hamilton will start on pole in China ."
    document = next(a["document"] for a in articles if highlight in a["summary"])
    assert unsupported_rate([highlight], [document]) == 50.0  # "Lewis Hamilton" yes, "China" no
    assert unsupported_rate(["No names here."], [document]) == 0.0


def test_copying_the_lead_is_faithful_and_novel_in_nothing(articles) -> None:
    sample = articles[:10]
    documents = [a["document"] for a in sample]
    leads = [" ".join(summary_sentences(d)[:3]) for d in documents]
    columns = summary_columns(leads, documents)
    assert columns["unsupported_rate"] == 0.0
    assert columns["copied_sentences"] == 100.0
    assert columns["novel_bigrams"] == 0.0
    assert columns["repeated_sentences"] == 0
    assert columns["mean_words"] == mean_words(leads) > 30
    human = summary_columns([a["summary"] for a in sample], documents)
    assert human["novel_bigrams"] > 30
    assert human["copied_sentences"] < 20

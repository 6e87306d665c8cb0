"""The faithfulness guard's check on real sentences: CNN/DailyMail articles and highlights, and the
shipped Wikipedia article on Nikola Tesla."""

from __future__ import annotations

import json

import pytest

from engine.faithfulness import is_supported, mentions, unsupported_mentions
from specialist.settings import PROJECT_ROOT
from specialist.text import sentences

NEWS = PROJECT_ROOT / "corpora" / "summaries" / "cnn_dailymail" / "test.jsonl"
TESLA_DIED = "Tesla died on 7 January 1943."
PATENTS = (
    "In 1943, a Supreme Court of the United States decision restored the prior patents of Tesla, "
    "Oliver Lodge, and John Stone."
)
FIRE = (
    "By Monday night, the fire had burned nearly 2,000 acres and was 50% contained, the fire "
    "department said."
)
LYRICS = (
    "The lyrics to the famed Don McLean song sold for $1.2 million Tuesday morning at an auction "
    "held by Christie's."
)


@pytest.fixture(scope="module")
def articles() -> list[dict[str, str]]:
    return [json.loads(line) for line in NEWS.read_text(encoding="utf-8").splitlines()]


def article_with(articles: list[dict[str, str]], highlight: str) -> str:
    return next(a["document"] for a in articles if highlight in a["summary"])


def test_every_sentence_of_an_article_is_supported_by_the_article(articles) -> None:
    """Copying is faithful by definition: any miss here is the check disagreeing with itself."""
    checked = 0
    for article in articles[:40]:
        document = article["document"]
        for start, end in sentences(document):
            sentence = document[start:end]
            checked += len(mentions(sentence))
            assert unsupported_mentions(sentence, [document]) == [], sentence
    assert checked > 1000


def test_a_sentence_initial_function_word_is_not_a_name(articles) -> None:
    sentence = (
        "The movie, starring Gal Gadot in the title role of the Amazon princess, is still set "
        "for release on June 23, 2017."
    )
    assert sentence in articles[0]["document"]
    assert mentions(sentence) == ["Gal Gadot", "Amazon", "June 23, 2017"]


def test_an_acronym_opening_a_sentence_is_a_name_a_common_noun_is_not() -> None:
    assert mentions(
        'CNN confirms that Michelle MacLaren is leaving the upcoming "Wonder Woman" movie '
        "(The Hollywood Reporter first broke the story)."
    ) == ["CNN", "Michelle MacLaren", "Wonder Woman", "Hollywood Reporter"]
    assert mentions(
        "Police found more than 90 videos and 1,500 photos of the victim on Boykin's phone and "
        "computer."
    ) == ["90", "1,500", "Boykin's"]


def test_a_name_opening_a_sentence_counts_when_it_is_capitalized_elsewhere_too() -> None:
    assert mentions("Boykin was terminated last year.") == []
    assert mentions("Boykin was terminated last year. Police found Boykin's videos.") == ["Boykin"]


def test_a_full_date_needs_its_day_and_month_in_the_sources() -> None:
    tesla = (PROJECT_ROOT / "corpora" / "xquad" / "Nikola_Tesla.md").read_text(encoding="utf-8")
    assert TESLA_DIED in tesla and PATENTS in tesla
    assert mentions(TESLA_DIED) == ["7 January 1943"]
    assert mentions(PATENTS)[0] == "1943"  # a year alone is a number
    assert unsupported_mentions(TESLA_DIED, [PATENTS]) == ["7 January 1943"]
    assert is_supported("1943", [TESLA_DIED])
    assert is_supported("January 1943", [TESLA_DIED])
    assert is_supported("January 7, 1943", [TESLA_DIED])
    assert not is_supported("8 January 1943", [TESLA_DIED])
    assert not is_supported("January 1943", [PATENTS])


def test_numbers_compare_by_value(articles) -> None:
    assert any(FIRE in a["document"] for a in articles)
    assert any(LYRICS in a["document"] for a in articles)
    assert is_supported("2000", [FIRE])
    assert unsupported_mentions("By Monday night, it had grown to nearly 2000 acres.", [FIRE]) == []
    assert unsupported_mentions("It had grown to nearly 20,000 acres.", [FIRE]) == ["20,000"]
    assert is_supported("50 per cent", [FIRE])
    assert is_supported("1,200,000", [LYRICS])
    assert is_supported("$1.2m", [LYRICS])
    assert not is_supported("$12 million", [LYRICS])


def test_number_words_are_numbers(articles) -> None:
    document = article_with(articles, "Former TSA agent Daniel Boykin")
    assert "six months in jail" in document
    assert unsupported_mentions("Boykin was sentenced to 6 months in jail.", [document]) == []
    assert unsupported_mentions("He got seven months in jail.", [document]) == ["seven"]


def test_a_name_is_supported_by_each_of_its_words() -> None:
    assert is_supported("Tesla", [PATENTS])
    assert is_supported("Lodge", [PATENTS])
    assert is_supported("Mr Lodge", [PATENTS])
    assert is_supported("Oliver Lodge's", [PATENTS])
    assert not is_supported("Oliver Heaviside", [PATENTS])
    assert is_supported("tesla", ["NIKOLA TESLA"])


def test_names_and_months_an_article_never_mentions_are_unsupported(articles) -> None:
    """Two CNN highlights: the article says "Chinese Grand Prix" and "Valentine's Day"."""
    highlight = "Lewis Hamilton will start on pole in China ."
    assert unsupported_mentions(highlight, [article_with(articles, highlight)]) == ["China"]
    highlight = "He most recently performed in February in Istanbul ."
    assert unsupported_mentions(highlight, [article_with(articles, highlight)]) == ["February"]


def test_citation_markers_are_not_numbers() -> None:
    assert mentions("Tesla died on 7 January 1943 [2].") == ["7 January 1943"]
    assert unsupported_mentions(f"{FIRE} [1, 3]", [FIRE]) == []


def test_several_sources_are_read_together() -> None:
    assert unsupported_mentions(PATENTS, [TESLA_DIED, PATENTS]) == []
    assert is_supported("Oliver Lodge", [TESLA_DIED, PATENTS])

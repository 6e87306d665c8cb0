"""The summarize operation on the real specialist (shipped adapter) and the real embedder.

One document or several, one call or map-reduce, stopped halfway; every shown sentence is cited
and holds no name, number or date its cited document lacks.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from engine.faithfulness import unsupported_mentions
from engine.summarize import (
    Document,
    GuardCounts,
    Progress,
    SummarySentence,
    _guarded,
    _sources,
    summarize,
)

pytestmark = pytest.mark.slow

XQUAD = Path(__file__).resolve().parents[2] / "corpora" / "xquad"
NEWS = (
    "The city council voted on Tuesday to close the Old Mill bridge to cars from 1 March. "
    "Engineers found cracks in two of its stone arches during an inspection in January. "
    "Cyclists and pedestrians may still cross the bridge while repairs go on. "
    "A new road bridge, which will cost 14 million pounds, is due to open in 2027. "
    "Local shops said they feared losing customers during the closure."
)


@pytest.fixture(scope="module")
def specialist(settings):
    """The served specialist: the base model with the shipped adapter merged."""
    from engine.loader import load_specialist
    from specialist.adapters import AdapterRegistry

    AdapterRegistry(settings).ensure_default()
    return load_specialist(settings)


@pytest.fixture(scope="module")
def embed(embedder):
    return lambda texts: embedder.encode(texts, normalize_embeddings=True, convert_to_numpy=True)


def article(name: str, words: int = 10_000) -> str:
    """The first ``words`` words of a shipped article (short inputs keep the tests fast)."""
    return " ".join((XQUAD / f"{name}.md").read_text().split(" ")[:words])


def assert_faithful(sentences: list[SummarySentence], documents: list[Document]) -> None:
    texts = {d.n: d.text for d in documents}
    for sentence in sentences:
        assert sentence.citations and set(sentence.citations) <= set(texts)
        cited = [texts[n] for n in sentence.citations]
        assert unsupported_mentions(sentence.text, cited) == [], sentence


def test_a_short_text_is_one_call_cited_and_faithful(specialist, embed) -> None:
    documents = [Document(1, NEWS, "news.txt")]
    events: list[object] = []
    summary = summarize(specialist, embed, documents, "short", on_event=events.append)
    assert summary.parts == 1 and summary.calls == 1 and not summary.stopped
    assert 1 <= len(summary.sentences) <= 2
    assert_faithful(summary.sentences, documents)
    shown = [e for e in events if isinstance(e, SummarySentence)]
    assert shown == summary.sentences  # each sentence streamed as it was kept
    assert events[-1] == Progress(1, 1, "final")
    assert summary.text.endswith("[1]")
    texts = [s.text.lower() for s in summary.sentences]
    assert len(set(texts)) == len(texts)


def test_a_long_document_is_map_reduced_with_progress(specialist, embed) -> None:
    documents = [Document(1, article("Black_Death", 450), "Black_Death.md")]
    events: list[object] = []
    summary = summarize(
        specialist, embed, documents, "medium", on_event=events.append, part_tokens=200
    )
    progress = [e for e in events if isinstance(e, Progress)]
    assert summary.parts >= 3 and summary.calls == len(progress) >= summary.parts
    assert [p.done for p in progress] == list(range(1, len(progress) + 1))
    assert all(p.done <= p.total for p in progress)
    assert {p.stage for p in progress[: summary.parts]} == {"map"}
    assert progress[-1].stage == "map" or progress[-1] == Progress(
        summary.calls, summary.calls, "final"
    )
    assert 1 <= len(summary.sentences) <= 5
    assert_faithful(summary.sentences, documents)


def test_several_documents_each_sentence_cites_its_own(specialist, embed) -> None:
    documents = [
        Document(1, article("Rhine", 250), "Rhine.md", "Rhine"),
        Document(2, article("Oxygen", 250), "Oxygen.md", "Oxygen"),
    ]
    summary = summarize(specialist, embed, documents, "medium", part_tokens=400)
    assert_faithful(summary.sentences, documents)
    for sentence in summary.sentences:
        lowered = sentence.text.lower()
        if "rhine" in lowered and "oxygen" not in lowered:
            assert 1 in sentence.citations
        if "oxygen" in lowered and "rhine" not in lowered:
            assert 2 in sentence.citations


def test_stopping_ends_the_work_before_the_next_call(specialist, embed) -> None:
    stop = threading.Event()
    documents = [Document(1, article("European_Union_law"), "eu.md")]

    def leave(event: object) -> None:
        if isinstance(event, Progress):
            stop.set()  # the client went away after the first part

    summary = summarize(specialist, embed, documents, on_event=leave, stop=stop, part_tokens=300)
    assert summary.stopped and summary.calls == 1 < summary.parts
    assert summary.sentences == []


def test_the_guard_replaces_an_invented_number_with_the_closest_source_sentence(embed) -> None:
    sources = _sources(embed, [Document(1, NEWS, "news.txt")])
    guard = GuardCounts()
    invented = "A new road bridge, which will cost 90 million pounds, is due to open in 2031."
    repaired = _guarded(invented, sources, [], guard)
    assert repaired is not None and repaired.from_source
    assert "14 million pounds" in repaired.text and repaired.citations == (1,)
    assert guard.unsupported == 2 and guard.replaced == 1
    far = _guarded("Mount Everest is 8,849 metres high.", sources, [], guard)
    assert far is None and guard.dropped == 1
    kept = _guarded("Cyclists may still cross the bridge.", sources, [], guard)
    assert kept is not None and not kept.from_source and kept.citations == (1,)
    invented = "The company has a new policy that allows employees to use their own devices."
    assert _guarded(invented, sources, [], guard) is None and guard.dropped == 2

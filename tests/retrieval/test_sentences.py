"""Sentence vectors stored at index time: the reader's vectors, reused with their chunks."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from engine.extract import SentenceVectors, candidates
from retrieval import sentences
from retrieval.indexer import build_index
from retrieval.search import open_index

LONG = (
    "# Rivers\n\nThe Rhine rises in the Swiss Alps. It flows north to the North Sea. "
    "Barges carry coal, grain and containers between Rotterdam and the Ruhr.\n"
)


def build(settings, folder, root, embedder):
    return build_index(settings, folder, progress=False, embedder=embedder, root=root)


def test_stored_vectors_are_the_readers_own(settings, embedder, corpus, index_root) -> None:
    (corpus / "rivers.md").write_text(LONG)
    build(settings, corpus, index_root, embedder)
    index = open_index(settings, embedder, root=index_root)
    hits = index.search("Where does the Rhine rise?", k=3)
    on_the_fly = SentenceVectors(index.embed, capacity=100).of("Where does the Rhine rise?", hits)
    stored = SentenceVectors(index.embed, 100, index.stored_sentence_vectors)
    from_index = stored.of("Where does the Rhine rise?", hits)
    assert all(index.stored_sentence_vectors(h) is not None for h in hits)
    assert from_index.shape == (1 + len(candidates(hits)), on_the_fly.shape[1])
    np.testing.assert_allclose(from_index, on_the_fly, atol=1e-5)
    withheld = replace(hits[0], text=hits[0].text.replace("Swiss Alps", "mountains"))
    assert index.stored_sentence_vectors(withheld) is None, "a changed text is embedded anew"


def test_unchanged_chunks_keep_their_vectors(
    settings, embedder, corpus, index_root, monkeypatch
) -> None:
    build(settings, corpus, index_root, embedder)
    embedded: list[str] = []
    encode = embedder.encode

    def counting(texts, *args, **kwargs):
        embedded.extend(texts)
        return encode(texts, *args, **kwargs)

    monkeypatch.setattr(embedder, "encode", counting)
    (corpus / "new.md").write_text("# Volcanoes\n\nEtna erupts often. Vesuvius buried Pompeii.\n")
    build(settings, corpus, index_root, embedder)
    assert len(embedded) == 3 and "Etna" in embedded[0], "one new chunk, then its sentences"
    assert embedded[1:] == ["Etna erupts often.", "Vesuvius buried Pompeii."]


def test_a_version_without_sentence_vectors_is_upgraded(
    settings, embedder, corpus, index_root
) -> None:
    first = build(settings, corpus, index_root, embedder)
    folder = index_root / "versions" / first.version
    for name in (sentences.VECTORS, sentences.SPANS, sentences.OFFSETS):
        (folder / name).unlink()
    old = open_index(settings, embedder, root=index_root)
    hit = old.search("Rhine", k=1)[0]
    assert old.stored_sentence_vectors(hit) is None, "served, embedding sentences on the fly"
    upgraded = build(settings, corpus, index_root, embedder)
    assert upgraded.changed and upgraded.chunks_embedded == 0, "chunk vectors are reused"
    index = open_index(settings, embedder, root=index_root)
    assert index.stored_sentence_vectors(index.search("Rhine", k=1)[0]) is not None


def test_the_generating_reader_indexes_no_sentences(settings, embedder, corpus, index_root):
    generating = settings.model_copy(update={"reader": "generate"})
    first = build(generating, corpus, index_root, embedder)
    assert first.sentences_embedded == 0
    assert not (index_root / "versions" / first.version / sentences.OFFSETS).exists()
    assert not build(generating, corpus, index_root, embedder).changed
    extracting = build(settings, corpus, index_root, embedder)
    assert extracting.changed and extracting.sentences_embedded > 0

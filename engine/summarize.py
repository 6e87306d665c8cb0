"""The summarize operation: documents in, a cited summary out, sentence by sentence.

Every front (``POST /summarize``, a summary request recognized by ``/ask`` or ``/v1``, the
``specialist summarize`` command, ``eval summarize``'s product row) calls :func:`summarize`, so what
is measured is what users get. The way through:

1. The documents are cut into *parts* of whole sentences (:mod:`specialist.text`) that fit the
   model's window, never across two documents.
2. One part: one call. Several: **map** (each part summarized alone), then, when the parts'
   summaries together are no longer than the summary asked for, they are the summary (in order);
   otherwise **reduce** (the partial summaries summarized together, level by level while they do
   not fit one call: a tree, so no combine step overflows the window however long the input) and
   one final call. A progress event follows each call.
3. Each sentence of the final text is **cited** to the document whose sentences are most like it
   (the embedder's cosine), so a summary of several sources cites each sentence's own.
4. The **faithfulness guard** (:mod:`engine.faithfulness`): a sentence close to no source sentence
   is dropped; a sentence naming a name, number or date that the documents it cites do not hold
   is replaced by the closest source sentence, or dropped when none is close; no sentence is shown
   uncited, none twice.

A caller's ``stop`` event ends the work between two tokens; a summary also stops generating once
it has its sentences, or when the model starts repeating itself.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from engine.faithfulness import mentions, unsupported_mentions
from specialist.prompt import render, summary_request
from specialist.text import sentences

if TYPE_CHECKING:
    from engine.loader import Specialist

Length = Literal["short", "medium", "long"]
MOST_SENTENCES: dict[str, int] = {"short": 2, "medium": 5, "long": 10}
NEW_TOKENS: dict[str, int] = {"short": 96, "medium": 200, "long": 400}
PART_TOKENS = 1024
"""Document tokens per call: a ~700-word article is one call. The adapter's training prompts
reach 768 tokens and the base model reads 2,048 (prompt, template and summary together)."""
UNGROUNDED_SIMILARITY = 0.25
"""A sentence no closer than this (cosine) to every source sentence is about none of them (the
model wrote from nothing, as it does for a text with nothing to summarize): dropped, whatever
its names and numbers; unrelated sentences score about 0 to 0.15 with this embedder."""
REPAIR_SIMILARITY = 0.5
"""A guarded sentence is replaced by the closest source sentence only if that one is this close
(cosine); a sentence further from every source sentence is dropped instead."""
DUPLICATE_OVERLAP = 0.7
"""Word-set overlap (Jaccard) from which a sentence repeats an earlier one."""
CO_CITE_MARGIN = 0.03
"""A second document is cited too when its closest sentence is this close to the best one's."""
_MARKERS = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
_LEAD_IN = re.compile(r"^\s*(?:summary|tl;?dr)\s*:\s*", re.IGNORECASE)
_WORD = re.compile(r"\w+")

Embed = Callable[[list[str]], np.ndarray]
"""Texts to normalized vectors, one row each (the index's embedder)."""


@dataclass(frozen=True)
class Document:
    """One text to summarize; ``n`` is the number its sentences are cited with."""

    n: int
    text: str
    source: str = ""
    title: str = ""


@dataclass(frozen=True)
class SummarySentence:
    """A sentence of a summary, the documents it rests on, and whether the guard replaced it."""

    text: str
    citations: tuple[int, ...]
    from_source: bool = False
    """True when the guard put the closest source sentence here in place of the model's."""

    @property
    def cited(self) -> str:
        return f"{self.text} {''.join(f'[{n}]' for n in self.citations)}"


@dataclass
class GuardCounts:
    """What the faithfulness guard saw and did, for the response and the evaluation."""

    generated_sentences: int = 0
    mentions: int = 0
    unsupported: int = 0
    """Mentions (names, numbers, dates) in generated sentences that their cited documents lack;
    none is shown (``eval summarize`` measures what is shown independently)."""
    replaced: int = 0
    dropped: int = 0
    repeats: int = 0


@dataclass
class Summary:
    """The summary's sentences, how it was made and what the guard did."""

    sentences: list[SummarySentence]
    guard: GuardCounts
    parts: int
    calls: int
    stopped: bool = False

    @property
    def text(self) -> str:
        """The summary as one paragraph with ``[n]`` markers."""
        return " ".join(sentence.cited for sentence in self.sentences)


@dataclass
class Progress:
    """Model calls done of the calls planned so far (reduce levels add to ``total``)."""

    done: int
    total: int
    stage: Literal["map", "reduce", "final"]


@dataclass
class _Sources:
    """Every document sentence with its document and vector: what citations are chosen from."""

    texts: list[str]
    documents: list[int]
    vectors: np.ndarray
    by_document: dict[int, str]
    embed: Embed


Listener = Callable[[Progress | SummarySentence], None]


def summarize(
    specialist: Specialist,
    embed: Embed,
    documents: Sequence[Document],
    length: Length = "medium",
    focus: str | None = None,
    max_words: int | None = None,
    *,
    on_event: Listener | None = None,
    stop: threading.Event | None = None,
    part_tokens: int = PART_TOKENS,
) -> Summary:
    """Summarize ``documents`` (see the module); events go to ``on_event`` as they happen."""
    emit = on_event or (lambda _event: None)
    stop = stop or threading.Event()
    parts = _parts(specialist, documents, part_tokens)
    guard = GuardCounts()
    calls = 0
    written: Iterator[str] = iter(())
    if len(parts) == 1:
        written = _sentences_as_written(specialist, parts[0], length, focus, stop)
    elif parts:
        texts: list[str] = []
        for part in parts:
            if stop.is_set():
                return Summary([], guard, len(parts), calls, stopped=True)
            texts.append(_generate(specialist, part, "medium", focus, stop))
            calls += 1
            emit(Progress(calls, len(parts) + 1, "map"))
        if length != "short" and len(_split(texts)) <= MOST_SENTENCES[length]:
            written = iter(_split(texts))  # the parts' summaries are short enough together
        else:
            while _tokens(specialist, "\n".join(texts)) > part_tokens and len(texts) > 1:
                groups = _pack(specialist, texts, part_tokens)
                texts = []
                for group in groups:
                    if stop.is_set():
                        return Summary([], guard, len(parts), calls, stopped=True)
                    texts.append(_generate(specialist, "\n".join(group), "medium", focus, stop))
                    calls += 1
                    emit(Progress(calls, calls + len(groups) - len(texts) + 1, "reduce"))
            written = _sentences_as_written(specialist, "\n".join(texts), length, focus, stop)
    model_writes = isinstance(written, Generator)  # a final call, not the parts' own sentences
    sources = _sources(embed, documents)  # after the map steps, so their progress shows at once
    kept = _kept(written, model_writes, length, max_words, sources, guard, emit)
    if model_writes:
        calls += 1
        emit(Progress(calls, calls, "final"))
    return Summary(kept, guard, len(parts), calls, stopped=stop.is_set())


def _kept(
    written: Iterator[str],
    model_writes: bool,
    length: Length,
    max_words: int | None,
    sources: _Sources,
    guard: GuardCounts,
    emit: Listener,
) -> list[SummarySentence]:
    """The summary's sentences from ``written``: guarded, each emitted as soon as it is kept,
    until the length or the word budget is reached, or the model starts repeating itself."""
    kept: list[SummarySentence] = []
    try:
        for sentence in written:
            if not _WORD.search(sentence):
                continue
            if _is_repeat(sentence, kept):
                guard.repeats += 1
                if model_writes:
                    break  # the model loops: what follows would repeat too
                continue
            checked = _guarded(sentence, sources, kept, guard)
            if checked is None:
                continue
            kept.append(checked)
            emit(checked)
            words = sum(len(s.text.split()) for s in kept)
            if len(kept) >= MOST_SENTENCES[length] or (max_words and words >= max_words):
                break
    finally:
        if model_writes:
            written.close()
    return kept


def _split(texts: Sequence[str]) -> list[str]:
    """The sentences of ``texts``, in order."""
    return [text[s:e].strip() for text in texts for s, e in sentences(text)]


def _sentences_as_written(
    specialist: Specialist, text: str, length: Length, focus: str | None, stop: threading.Event
) -> Iterator[str]:
    """The model's summary of ``text``, one complete sentence at a time, as it is generated."""
    prompt = render(specialist.tokenizer, summary_request(text, length, focus))
    pieces = specialist.stream(prompt, NEW_TOKENS[length], stop)
    written, handed = "", 0
    try:
        for piece in pieces:
            written += piece
            spans = sentences(written)
            for start, end in spans[handed : len(spans) - 1]:
                yield _clean(written[start:end])
            handed = max(handed, len(spans) - 1)
        for start, end in sentences(written)[handed:]:
            yield _clean(written[start:end])
    finally:
        pieces.close()


def _guarded(
    written: str, sources: _Sources, kept: Sequence[SummarySentence], guard: GuardCounts
) -> SummarySentence | None:
    """``written`` cited and checked against the documents it cites; its repair; or None (dropped)."""
    guard.generated_sentences += 1
    similarities = sources.vectors @ sources.embed([written])[0] if sources.texts else None
    if similarities is None or similarities.max() < UNGROUNDED_SIMILARITY:
        guard.dropped += 1
        return None
    cited = _cited(similarities, sources)
    found = mentions(written)
    missing = unsupported_mentions(written, [sources.by_document[n] for n in cited])
    guard.mentions += len(found)
    guard.unsupported += len(missing)
    if not missing:
        return SummarySentence(written, cited)
    for row in np.argsort(-similarities):
        if similarities[row] < REPAIR_SIMILARITY:
            break
        replacement = sources.texts[row]
        if not _is_repeat(replacement, kept):
            guard.replaced += 1
            return SummarySentence(replacement, (sources.documents[row],), from_source=True)
    guard.dropped += 1
    return None


def _cited(similarities: np.ndarray, sources: _Sources) -> tuple[int, ...]:
    """The document of the closest source sentence, and any other nearly as close (at most 2)."""
    best: dict[int, float] = {}
    for row in np.argsort(-similarities)[:16]:
        document = sources.documents[row]
        best.setdefault(document, float(similarities[row]))
    ranked = sorted(best.items(), key=lambda item: -item[1])
    top = ranked[0][1]
    return tuple(sorted(n for n, score in ranked[:2] if score >= top - CO_CITE_MARGIN))


def _sources(embed: Embed, documents: Sequence[Document]) -> _Sources:
    """Every sentence of every document, embedded once per summary."""
    texts, owners = [], []
    for document in documents:
        for start, end in sentences(document.text):
            texts.append(" ".join(document.text[start:end].split()))
            owners.append(document.n)
    vectors = embed(texts) if texts else np.zeros((0, 1), dtype=np.float32)
    return _Sources(texts, owners, vectors, {d.n: d.text for d in documents}, embed)


def _parts(specialist: Specialist, documents: Sequence[Document], budget: int) -> list[str]:
    """Each document's sentences packed into texts of at most ``budget`` tokens, in order."""
    parts: list[str] = []
    for document in documents:
        lines = [document.text[s:e].strip() for s, e in sentences(document.text)]
        parts += [" ".join(group) for group in _pack(specialist, lines, budget)]
    return parts


def _pack(specialist: Specialist, texts: Sequence[str], budget: int) -> list[list[str]]:
    """Consecutive ``texts`` grouped so each group holds at most ``budget`` tokens (or one text,
    cut to the budget, when it alone is longer)."""
    groups: list[list[str]] = []
    spent = budget
    for text in texts:
        ids = specialist.tokenizer(text, add_special_tokens=False).input_ids
        if len(ids) > budget:
            text = specialist.tokenizer.decode(ids[:budget])
            ids = ids[:budget]
        if spent + len(ids) > budget:
            groups.append([])
            spent = 0
        groups[-1].append(text)
        spent += len(ids) + 1
    return groups


def _tokens(specialist: Specialist, text: str) -> int:
    return len(specialist.tokenizer(text, add_special_tokens=False).input_ids)


def _generate(
    specialist: Specialist, text: str, length: Length, focus: str | None, stop: threading.Event
) -> str:
    """A partial summary (map or reduce step): the model's sentences, without repeats."""
    kept: list[str] = []
    pending = _sentences_as_written(specialist, text, length, focus, stop)
    try:
        for sentence in pending:
            if not _WORD.search(sentence):
                continue
            if any(_overlap(sentence, earlier) >= DUPLICATE_OVERLAP for earlier in kept):
                break
            kept.append(sentence)
    finally:
        pending.close()
    return " ".join(kept)


def _clean(sentence: str) -> str:
    """A written sentence without the model's own ``[n]`` markers or a "Summary:" lead-in."""
    return _LEAD_IN.sub("", _MARKERS.sub("", " ".join(sentence.split()))).strip()


def _is_repeat(text: str, kept: Sequence[SummarySentence]) -> bool:
    return any(_overlap(text, sentence.text) >= DUPLICATE_OVERLAP for sentence in kept)


def _overlap(first: str, second: str) -> float:
    a = {w.lower() for w in _WORD.findall(first)}
    b = {w.lower() for w in _WORD.findall(second)}
    return len(a & b) / len(a | b) if a and b else 0.0

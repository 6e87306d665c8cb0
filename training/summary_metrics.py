"""What ROUGE does not say about a set of summaries: faithfulness, copying, novelty, repetition.

ROUGE rewards overlap with one human summary, so a summary that copies the article's first
sentences scores well and one that invents a number loses little. These columns tell those apart;
``eval summarize`` reports them for every model and every reference row. Shares are percentages
(x100, two decimals) over all summaries pooled (a long summary counts for more than a short one),
like the other percentages in the evaluation's JSON.

- ``unsupported_rate``: of the names, numbers and dates the summaries mention, the share their
  document does not hold: the faithfulness guard's own check (:mod:`engine.faithfulness`).
- ``copied_sentences``: summary sentences found verbatim in the document (spacing aside).
- ``novel_bigrams``: summary word bigrams (within a sentence) the document never has (See et al.,
  2017, report the same for abstractive models): 0 for pure extraction, high for paraphrase or
  invention.
- ``repeated_trigrams``: word trigrams (within a sentence) that already occurred earlier in the
  same summary, the signature of a small model looping.
- ``repeated_sentences``: how many summaries hold one sentence twice (a count, not a share).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from engine.faithfulness import is_supported, mentions
from specialist.text import sentences

TOKEN = re.compile(r"[^\W_]+")


def summary_sentences(text: str) -> list[str]:
    """The sentences of ``text``: each line cut by :func:`specialist.text.sentences`.

    Lines first, because news highlights and dialogue turns end at a line break with no full stop
    ("... differences\\nMovie is ..." is two sentences; "#Person2#: ..." opens a turn).
    """
    return [line[start:end].strip() for line in text.splitlines() for start, end in sentences(line)]


def mean_words(summaries: Sequence[str]) -> float:
    """Mean length in whitespace-separated words."""
    return round(sum(len(s.split()) for s in summaries) / len(summaries), 1) if summaries else 0.0


def unsupported_rate(summaries: Sequence[str], documents: Sequence[str]) -> float:
    """Percent of the summaries' mentions (per sentence, as the guard sees them) the document lacks."""
    named = [
        (mention, document)
        for summary, document in zip(summaries, documents, strict=True)
        for sentence in summary_sentences(summary)
        for mention in mentions(sentence)
    ]
    return _percent(sum(not is_supported(m, [d]) for m, d in named), len(named))


def copied_sentences(summaries: Sequence[str], documents: Sequence[str]) -> float:
    """Percent of summary sentences that occur verbatim in their document, spacing normalized."""
    said = [
        (_spaced(sentence), source)
        for summary, source in zip(summaries, map(_spaced, documents), strict=True)
        for sentence in summary_sentences(summary)
    ]
    return _percent(sum(sentence in source for sentence, source in said), len(said))


def novel_bigrams(summaries: Sequence[str], documents: Sequence[str]) -> float:
    """Percent of summary word bigrams (lower case, punctuation dropped) absent from the document."""
    novel = total = 0
    for summary, document in zip(summaries, documents, strict=True):
        source = set(_ngrams(document, 2))
        grams = _ngrams(summary, 2)
        total += len(grams)
        novel += sum(gram not in source for gram in grams)
    return _percent(novel, total)


def repeated_trigrams(summaries: Sequence[str]) -> float:
    """Percent of summary word trigrams that already occurred earlier in the same summary."""
    repeated = total = 0
    for summary in summaries:
        grams = _ngrams(summary, 3)
        total += len(grams)
        repeated += len(grams) - len(set(grams))
    return _percent(repeated, total)


def repeated_sentences(summaries: Sequence[str]) -> int:
    """How many summaries say one sentence twice (case and spacing aside)."""
    count = 0
    for summary in summaries:
        said = [_spaced(sentence).lower() for sentence in summary_sentences(summary)]
        count += len(said) != len(set(said))
    return count


def summary_columns(summaries: Sequence[str], documents: Sequence[str]) -> dict[str, float]:
    """Every column above for one row, with ``mean_words``."""
    return {
        "mean_words": mean_words(summaries),
        "unsupported_rate": unsupported_rate(summaries, documents),
        "copied_sentences": copied_sentences(summaries, documents),
        "novel_bigrams": novel_bigrams(summaries, documents),
        "repeated_trigrams": repeated_trigrams(summaries),
        "repeated_sentences": repeated_sentences(summaries),
    }


def _spaced(text: str) -> str:
    return " ".join(text.split())


def _ngrams(text: str, n: int) -> list[tuple[str, ...]]:
    """Word n-grams of each sentence (lower case, no punctuation); none spans two sentences, so
    joining extracted sentences makes no novel bigram."""
    grams = []
    for sentence in summary_sentences(text):
        tokens = TOKEN.findall(sentence.lower())
        grams += zip(*(tokens[i:] for i in range(n)), strict=False)
    return grams


def _percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 2) if whole else 0.0

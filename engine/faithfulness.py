"""The faithfulness guard's one check: the names, numbers and dates of a sentence, and which of
them the sources hold.

A small model summarizing news invents exactly these: a wrong year, a doubled sum, a surname from
another story. Words in general may be paraphrased, but a name, number or date the documents never
mention is an error whatever the wording, so they are what the guard checks (the service's
summarizer on every sentence it writes, ``eval summarize`` in its ``unsupported_rate`` column; both
import these functions, so they measure the same thing).

What counts as a mention:

- **dates**: a day or a year with a month name: "7 January 1943", "June 23, 2017", "January 1943".
  A bare month is a capitalized word like any other (so "Theresa May" stays a name); a bare year
  is a number.
- **numbers**: digits, with thousands separators, decimals, a currency sign, a scale ("$5 million",
  "£1.2bn"), "%" or "per cent"; and the number words two to ninety-nine and "dozen". "one" is left
  out: it is a pronoun far more often than a count ("one of the").
- **names**: runs of capitalized words ("Nikola Tesla", "Bank of England", "U.S. Army"), acronyms
  ("TGWU", "U.S."), minus function words at either end ("The White House" is "White House").
  A single word capitalized only because it opens a sentence (or a line, or a quotation after a
  colon or comma) is not a name: "Police said" is not, and neither is "Tesla said" unless "Tesla" is also
  capitalized elsewhere in the text; an acronym there still is. Missing a few sentence-initial
  names is the price of not flagging every sentence that opens with a common noun.

Citation markers ("[1]", "[2, 3]") are not numbers.

What counts as supported (case, accents, spacing and punctuation never matter):

- a date: a date in the sources with the same month and the same day and year where the mention
  has them ("January 1943" is supported by "7 January 1943", "7 January 1943" is not supported by
  "1943" or "January 1943");
- a number: the same value ("2,000" = "2000", "three" = "3", "$5 million" = "5,000,000"); a number
  with no scale is also supported by the same figure with one ("5" by "5m"); currency and percent
  signs are not compared;
- a name: every content token of it (not "of", "Mr", ...) is a word of the sources, possessive
  "'s" ignored: "Tesla" and "Mr Tesla" are supported by "Nikola Tesla".

Pure Python and ``re``; each source text is indexed once (cached), so checking every sentence of a
summary against the same documents costs a few regular-expression passes over the sentence.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Sequence
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

from specialist.text import sentences

MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
UNITS = ("two", "three", "four", "five", "six", "seven", "eight", "nine")
TEENS = ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
         "eighteen", "nineteen")  # fmt: skip
TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
NUMBER_WORDS = {
    **{word: value for value, word in enumerate(UNITS, 2)},
    **{word: value for value, word in enumerate(TEENS, 10)},
    **dict(zip(TENS, range(20, 100, 10), strict=True)),
    "one": 1,  # only as the unit of "twenty-one"
    "dozen": 12,
}
SCALES = {
    "thousand": 10**3, "k": 10**3, "hundred": 10**2, "million": 10**6, "m": 10**6, "mn": 10**6,
    "billion": 10**9, "bn": 10**9, "trillion": 10**12,
}  # fmt: skip

_MONTH = "|".join(month.capitalize() for month in MONTHS)
_DAY = r"(?<!\d)(?:[12]\d|3[01]|0?[1-9])(?!\d)(?:st|nd|rd|th)?"
_YEAR = r"(?<!\d)(?:1\d|20)\d\d(?!\d)"
DATE = re.compile(
    rf"\b(?:(?P<day>{_DAY})(?:\s+of)?\s+(?P<month>{_MONTH})\b(?:,?\s+(?P<year>{_YEAR}))?"
    rf"|(?P<month2>{_MONTH})\s+(?P<day2>{_DAY})\b(?:,?\s+(?P<year2>{_YEAR}))?"
    rf"|(?P<month3>{_MONTH}),?\s+(?P<year3>{_YEAR}))"
)
_WORD_NUMBER = (
    rf"(?i:(?:{'|'.join(TENS)})(?:[-\s](?:one|{'|'.join(UNITS)}))?"
    rf"|{'|'.join(TEENS)}|{'|'.join(UNITS)}|dozen)\b"
)
NUMBER = re.compile(
    r"(?<![\w.,])[$£€¥]?"
    rf"(?:(?P<digits>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)|\b(?P<word>{_WORD_NUMBER}))"
    r"(?:\s?(?P<scale>thousand|hundred|million|billion|trillion)\b|(?P<short>bn|mn|m|k)\b)?"
    r"(?:\s?%|\s(?:per\s?cent|percent)\b)?(?:st|nd|rd|th|s)?(?!\w)"
)
CITATION = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")
_ACRONYM = r"(?<![\w.])[^\W\d_](?:\.[^\W\d_])+\b\.?"
# A word: an acronym with dots ("U.S.", "South Korea-U.S."), or letters and digits joined by
# hyphens and apostrophes ("RC-135U", "O'Neill's"). Capitalized ones are the parts of names.
WORD = re.compile(rf"(?:[\w'’&-]*-)?{_ACRONYM}|[^\W_](?:[\w'’&-]*[^\W_])?")


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Capitalized at either end of a run, these words make no name: sentence openers, pronouns,
# determiners, prepositions, conjunctions, auxiliaries.
FUNCTION_WORDS = _word_set(
    """
a an the this that these those there here it its it's he she his her hers him they them their we
our us you your i i'm i've i'll i'd me my who whom whose what which when where why how in on at by
for from with without of to into onto over under after before during since until about against
among between through across despite as and but or nor so yet if because although though while
whether than then once now today tonight yesterday tomorrow meanwhile however also still even just
only not no yes ok all both each every some many most more few several any other another such last
next first is are was were be been being has have had do does did can could would should dear hi
hello please thanks according like unlike near around within toward towards upon via per amid
along beyond behind below above inside outside throughout except off out up down almost nearly
"""
)
TITLES = _word_set("mr mrs ms miss dr prof sir dame lord lady rev gen col capt sgt lt gov sen")
CONNECTORS = _word_set("of de du da del della der den van von la le al bin ibn el")
NOT_NAMING = TITLES | CONNECTORS


class Date(NamedTuple):
    """A date mention's parts; ``day`` or ``year`` is None when the text leaves it out."""

    day: int | None
    month: int
    year: int | None


class Number(NamedTuple):
    """A number mention: its figure as written and its value after the scale ("5m": 5 and 5e6)."""

    figure: Decimal
    value: Decimal
    scaled: bool


class SourceIndex(NamedTuple):
    """What one source text holds, in the forms mentions are compared in."""

    words: frozenset[str]
    figures: frozenset[Decimal]
    values: frozenset[Decimal]
    dates: frozenset[Date]


def mentions(text: str) -> list[str]:
    """The dates, numbers and names of ``text``, in order of appearance, each once.

    Dates are found first and numbers next, each hidden before the next pass, so "7 January 1943"
    is one date, not a number, a name and a year. A name written twice ("Boykin", "Boykin's")
    is one mention, so a sentence's count does not grow with repetition.
    """
    masked = CITATION.sub(_blank, text)
    found: list[tuple[int, str]] = []
    for pattern in (DATE, NUMBER):
        for match in pattern.finditer(masked):
            found.append((match.start(), match.group()))
        masked = pattern.sub(_blank, masked)
    names = _names(text, masked)
    keys = {mention: tuple(_content_words(mention)) for _, mention in names}
    seen: set[object] = set()
    unique = []
    for _, mention in sorted(found + names):
        if (key := keys.get(mention, mention)) not in seen:
            seen.add(key)
            unique.append(mention)
    return unique


def is_supported(mention: str, sources: Sequence[str]) -> bool:
    """Whether the sources hold ``mention`` (a date, a number or a name, as :func:`mentions` gives).

    Read the module's docstring for what "hold" means for each kind.
    """
    indexes = [_index(source) for source in sources]
    if (date := _date(DATE.fullmatch(mention))) is not None:
        return any(_same_date(date, other) for index in indexes for other in index.dates)
    if (number := _number(NUMBER.fullmatch(mention))) is not None:
        return any(
            number.value in index.values or (not number.scaled and number.figure in index.figures)
            for index in indexes
        )
    return all(any(word in index.words for index in indexes) for word in _content_words(mention))


def unsupported_mentions(sentence: str, sources: Sequence[str]) -> list[str]:
    """The mentions of ``sentence`` that the sources do not hold: what the guard acts on."""
    return [mention for mention in mentions(sentence) if not is_supported(mention, sources)]


def _blank(match: re.Match[str]) -> str:
    """NUL characters in place of a match: every offset is kept, and no name runs across it."""
    return "\0" * len(match.group())


def _names(text: str, masked: str) -> list[tuple[int, str]]:
    """(offset, text) of each name in ``masked`` (``text`` with dates and numbers hidden)."""
    words = list(WORD.finditer(masked))
    starts = _opening_offsets(text)
    capital = [_capitalized(w.group()) for w in words]
    opening = [_opens(text, starts, w.start()) for w in words]
    elsewhere = {
        tuple(_words(w.group()))
        for w, c, o in zip(words, capital, opening, strict=True)
        if c and not o
    }
    names, i = [], 0
    while i < len(words):
        if not capital[i]:
            i += 1
            continue
        end = _run_end(words, capital, masked, i)
        first, last = i, end
        while first <= last and _is_function_word(words[first].group()):
            first += 1
        while last >= first and _is_function_word(words[last].group()):
            last -= 1
        i = end + 1
        if first > last:
            continue
        word = words[first].group()
        merely_opening = opening[first] and tuple(_words(word)) not in elsewhere
        if first == last and merely_opening and not _is_acronym(word):
            continue
        mention = text[words[first].start() : words[last].end()]
        if _content_words(mention):
            names.append((words[first].start(), mention))
    return names


def _run_end(words: list[re.Match[str]], capital: list[bool], masked: str, i: int) -> int:
    """The last word of the name that starts at word ``i``: capitalized words in a row, with
    initials ("John F. Kennedy") and connectors ("Bank of England") inside."""
    end = i
    while end + 1 < len(words):
        gap = masked[words[end].end() : words[end + 1].start()]
        if capital[end + 1] and _joins(words[end].group(), gap):
            end += 1
        elif (
            end + 2 < len(words)
            and words[end + 1].group() in CONNECTORS
            and capital[end + 2]
            and gap.strip(" \t") == ""
            and masked[words[end + 1].end() : words[end + 2].start()].strip(" \t") == ""
        ):
            end += 2
        else:
            break
    return end


def _opening_offsets(text: str) -> list[int]:
    """Offsets where a sentence, a line or a quotation after a colon begins, in order."""
    starts = {start for start, _ in sentences(text)}
    starts |= {match.end() for match in re.finditer(r"\n|:\s*[\"“‘']?|,\s*[\"“]", text)}
    return sorted(starts | {0})


def _opens(text: str, starts: list[int], offset: int) -> bool:
    """Whether the word at ``offset`` is the first word since the last opening offset."""
    start = starts[bisect_right(starts, offset) - 1]
    return not any(ch.isalnum() for ch in text[start:offset])


def _joins(word: str, gap: str) -> bool:
    """Whether two capitalized words with ``gap`` between them belong to one name."""
    if gap and gap.strip(" \t") == "":
        return True
    abbreviated = len(word) == 1 or word.lower() in TITLES
    return abbreviated and gap.startswith(".") and gap[1:].strip(" \t") == "" and len(gap) > 1


def _capitalized(word: str) -> bool:
    return word[0].isupper()


def _is_acronym(word: str) -> bool:
    """Two capitals or more ("TGWU", "U.S.", "McDonald"): a name even where a sentence opens."""
    return sum(ch.isupper() for ch in word) >= 2


def _is_function_word(word: str) -> bool:
    return word.lower().replace("’", "'") in FUNCTION_WORDS and not (
        len(word) > 1 and word.isupper()
    )


def _content_words(name: str) -> list[str]:
    """The normalized words of a name that must be found: no function words, titles, connectors."""
    kept = [
        match.group()
        for match in WORD.finditer(name)
        if match.group().lower() not in NOT_NAMING and not _is_function_word(match.group())
    ]
    return [word for token in kept for word in _words(token)]


def _words(text: str) -> list[str]:
    """Lower-case words without accents, dots of acronyms or a possessive "'s" ("U.S.'s" -> "us")."""
    if not text.isascii():
        text = "".join(
            ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
        )
    text = re.sub(_ACRONYM, lambda m: m.group().replace(".", ""), text.lower())
    text = re.sub(r"['’]s\b", "", text)
    return re.findall(r"[^\W_]+", text)


def _date(match: re.Match[str] | None) -> Date | None:
    if match is None:
        return None
    day, month, year = (
        match["day"] or match["day2"],
        match["month"] or match["month2"] or match["month3"],
        match["year"] or match["year2"] or match["year3"],
    )
    return Date(
        int(re.sub(r"\D", "", day)) if day else None,
        MONTHS.index(month.lower()) + 1,
        int(year) if year else None,
    )


def _same_date(mention: Date, source: Date) -> bool:
    """Whether a source date holds every part the mention states."""
    return (
        mention.month == source.month
        and mention.day in (None, source.day)
        and mention.year in (None, source.year)
    )


def _number(match: re.Match[str] | None) -> Number | None:
    if match is None:
        return None
    if match["digits"]:
        figure = Decimal(match["digits"].replace(",", ""))
    else:
        parts = re.split(r"[-\s]+", match["word"].lower())
        figure = Decimal(sum(NUMBER_WORDS[part] for part in parts))
    scale = match["scale"] or match["short"]
    return Number(figure, figure * SCALES[scale.lower()] if scale else figure, bool(scale))


@lru_cache(maxsize=64)
def _index(source: str) -> SourceIndex:
    """A source's words, numbers and dates; cached, as the guard checks many sentences per source."""
    numbers = [_number(match) for match in NUMBER.finditer(source)]
    return SourceIndex(
        words=frozenset(_words(source)),
        figures=frozenset(n.figure for n in numbers if n is not None),
        values=frozenset(n.value for n in numbers if n is not None),
        dates=frozenset(_date(match) for match in DATE.finditer(source)),
    )

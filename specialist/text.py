"""Sentence spans and windows, shared by RAFT example building and the service's passage focusing.

Training passages are windows of whole sentences, and so are the passages the service shows the
specialist; both must cut sentences the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# A period after an initial ("William E. Simon", "U.S. Army") or one of these abbreviations ends no
# sentence: a cut there quotes half a name as the answer and drops its other half from the passage.
ABBREVIATIONS = (
    "Mr", "Mrs", "Ms", "Dr", "St", "Jr", "Sr", "Prof", "Gen", "Col", "Lt", "Mt", "Ft", "Gov", "Sen",
    "Rev", "Capt", "Sgt", "vs", "No", "Co", "Inc", "Ltd", "approx", "ca", "Vol", "Fig",
)  # fmt: skip
NOT_AFTER_ABBREVIATION = "".join(rf"(?<!\b{word}\.)" for word in ABBREVIATIONS)
SENTENCE_END = re.compile(
    rf"(?<=[.!?])(?<![\s.(][A-Z]\.){NOT_AFTER_ABBREVIATION}\s+(?=[A-Z0-9\"'(\[])"
)


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of the sentences of ``text``."""
    spans, start = [], 0
    for match in SENTENCE_END.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def sentence_window(
    text: str, spans: list[tuple[int, int]], first: int, words: int, through: int = -1
) -> str:
    """Whole sentences from span ``first`` on, about ``words`` words, reaching span ``through``.

    The window grows forward and, at the end of the text, backward: the layout of the passages
    the specialist is trained on, and so of the passages it is shown at serving time.
    """
    low = high = first
    count = len(text[spans[first][0] : spans[first][1]].split())
    while (count < words or high < through) and (high + 1 < len(spans) or low > 0):
        if high + 1 < len(spans):
            high += 1
            span = spans[high]
        else:
            low -= 1
            span = spans[low]
        count += len(text[span[0] : span[1]].split())
    return " ".join(text[s:e].strip() for s, e in spans[low : high + 1])


def holds_answer(text: str, answers: Sequence[str]) -> bool:
    """Whether ``text`` holds one of the gold answer spans (case-insensitive).

    The one definition of "this passage holds the answer" for fitting the reader, withholding
    passages and scoring citations.
    """
    lowered = text.lower()
    return any(answer.strip() and answer.lower() in lowered for answer in answers)

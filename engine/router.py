"""Recognize a request for a summary among the messages sent to ``/ask`` and ``/v1``.

A user of a document assistant asks questions ("When was Tesla born?") and asks for summaries
("Summarize the Apollo program", "<pasted article> TL;DR"). The two need different pipelines: a
question gets the extractive reader's one quoted sentence, a summary request gets map-reduce over
many passages (or over the text pasted into the message). This module tells them apart and pulls
out what the summary pipeline needs: the topic to retrieve documents about, the pasted text, the
length asked for and the aspect to focus on.

It is a set of rules, not a model, because it runs on every request before anything else: it
must cost microseconds, never fail, and be explainable when it routes a message the wrong way.
The rules look for a *request shape* at the start of a clause ("summarize X", "give me an
overview of X", "what are the key takeaways from X", "X tl;dr") rather than for summary words
anywhere, which is what keeps questions that merely contain the word ("What is a summary
judgment?", "Who wrote the summary of the Warren Commission?") questions.

Conventions of the result:

- ``topic`` keeps the user's words (their case included) minus the lead-in ("the article about",
  "what the documents say about", "the main points of"), trailing politeness, length and style
  hints, a trailing document word ("the Rhine article" gives "Rhine") and a leading article ("the
  Black Death" gives "Black Death"): the words a retriever needs, nothing it would be misled by.
- ``topic`` is None when the request names no topic ("summarize it", "summarize the documents")
  or points at text ("summarize this", "the above"); with ``pasted`` None too, the caller decides
  what "it" is (the previous answer, the whole collection).
- ``pasted`` is the text to summarize as given when the message carries one: an instruction and,
  after a colon or a line break, more than :data:`PASTE_WORDS` words; or an instruction pointing
  at it ("this", "the following", "the text below", "the above") and at least
  :data:`POINTED_PASTE_WORDS` words; the instruction may come first or last.
- "Tell me about X", "explain X" and "describe X" stay questions: the reader answers them.

The labelled requests these rules were written and chosen on are in ``corpora/router/``; their
scores come from ``python -m evaluation.router_eval``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from specialist.text import sentences

Length = Literal["short", "medium", "long"]

PASTE_WORDS = 40
"""Words after an instruction and a colon or line break that make a pasted document: fewer are
more likely a topic with a remark ("Summarize Tesla: mostly his patents")."""

POINTED_PASTE_WORDS = 6
"""Words that make a pasted document when the instruction points at them ("summarize the
following: ..."): the pointer leaves no doubt, so even one sentence counts."""

TRAILING_TOPIC_WORDS = 8
"""Most words of a topic named before its summary word ("Nikola Tesla summary please"): a longer
text ending in "summary" is a sentence about one."""

INSTRUCTION_WORDS = 30
"""Most words of an instruction that comes with pasted text ("Summarize the text below in three
bullet points, focusing on costs."): a longer first or last sentence belongs to the document."""

SCAN_WORDS = 60
"""A message longer than this is read only at its first and last sentence for an instruction:
summary words inside a long message are part of its text, not a request."""


@dataclass(frozen=True)
class SummaryIntent:
    """What a summary request asks for; see the module docstring for the conventions."""

    topic: str | None
    """What to retrieve documents about ("Apollo program"); None for pasted text or a request
    without a topic ("summarize this")."""
    pasted: str | None
    """A document pasted into the message, summarized as given and not searched for."""
    length: Length | None
    """From hints: "in one sentence", "briefly", "tl;dr": short; "in 3-5 sentences", "main
    points": medium; "in detail", "detailed": long; None without a hint."""
    focus: str | None
    """The aspect asked for: "..., focusing on Y", "with a focus on Y", "..., especially Y"."""


def summary_intent(message: str) -> SummaryIntent | None:
    """The summary request ``message`` makes, or None when it is a question (or anything else).

    Pure string work on compiled patterns: under 0.25 ms for every message of the labelled
    sets on one shared core, about 0.1 ms on average.
    """
    text = message.strip()
    if not text:
        return None
    found = _pasted(text)
    if found is not None:
        request, body = found
        return SummaryIntent(None, body, request.length, request.focus)
    spans = sentences(text)
    if len(text.split()) > SCAN_WORDS:
        spans = [spans[0], spans[-1]] if len(spans) > 1 else spans
    for start, end in spans:
        for line in _lines(text[start:end]):
            request = _request(line, text[end:])
            if request is not None:
                return SummaryIntent(request.topic, None, request.length, request.focus)
    return None


# --- vocabulary -------------------------------------------------------------------------------

_F = re.IGNORECASE | re.VERBOSE

TLDR = r"tl\s?[;:]?\s?dr"
SUMMARY_VERB = rf"""(?:summari[sz]e|sum\s+up|recap(?:itulate)?|condense|abridge|distill?|boil\s+down
    |outline|{TLDR}|pr[ée]cis)"""
PRONOUN = r"(?:it|this|that|these|them|those|everything|it\s+all|all\s+of\s+(?:it|this|that))"
# "sum it up", "boil this down": the verb wraps its object.
WRAPPING_VERB = rf"(?:sum\s+{PRONOUN}\s+up|boil\s+{PRONOUN}\s+down)"
SUMMARY_NOUN = rf"""(?:summary|summaries|overview|recap|synopsis|rundown|run-down|digest|pr[ée]cis
    |abstract|gist|outline|{TLDR}|round-?up|short\s+version|lowdown|briefing|cliff\s*notes)"""
# Plural only: "the main point of civil disobedience" asks what its point is, a question.
POINTS = r"""(?:(?:most\s+)?(?:main|key|major|important|essential|central|principal|salient|core
    |crucial|big|top|chief|basic)\s+(?:points|ideas|takeaways|facts|findings|themes|arguments
    |messages|conclusions|events|highlights|lessons|details)|takeaways|highlights|essentials
    |basics)"""
# "the main points of contention between the EU and the UK" is a question about a dispute.
NOT_A_DIGEST = r"""(?!\s+(?:of|in)\s+(?:contention|difference|disagreement|agreement|debate
    |dispute|conflict|view|departure|divergence|similarity|comparison|interest|order|law)\b)"""
ADJECTIVE = r"""(?:brief|short|shorter|quick|concise|succinct|detailed|long|longer|lengthy|full
    |fuller|thorough|comprehensive|in-depth|in\s+depth|high-level|general|executive|bulleted
    |bullet(?:-|\s)?point(?:ed)?|simple|basic|overall|little|good|nice|clear|complete|extended
    |broad|big-picture|fast|tight|plain|proper|decent|readable|\w+-(?:sentence|line|paragraph
    |word|page|minute|point)s?|\d+(?:-\d+)?-?(?:sentence|line|paragraph|word|page|point)s?)"""
ADJECTIVES = rf"(?:{ADJECTIVE}[\s,]+(?:and\s+)?){{0,3}}"
DETERMINER = r"(?:(?:a|an|the|some|your|my|our|one)\s+)?"
DIGEST = rf"(?:{SUMMARY_NOUN}|{POINTS}{NOT_A_DIGEST})"
HINT_START = r"""(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|few|several|\d|detail
    |depth|brief|short|plain|simple|bullets?|bullet\s+points|full)\b"""
# "in" leads a topic ("key points in the report") unless it leads a hint ("in one sentence").
PREPOSITION = rf"(?:of|on|about|from|regarding|concerning|covering|in(?!\s+{HINT_START}))"
# What may follow a summary noun: a topic after a preposition or a colon, or the clause's end.
# "summary judgment", "summary for policymakers", "overview effect" have none of these.
NOUN_ENDS = rf"""(?=(?:\s*,?\s*(?:please|pls|plz))?(?:\s*[:\u2014\u2013-]|\s+{PREPOSITION}\b
    |\s*[.!?,;]|\s*$))"""
REQUEST_VERB = r"""(?:give|get|show|tell|write(?:\s+up)?|make|produce|prepare|provide|send|create
    |generate|draft|offer|share|put\s+together|do|compose|deliver|present|supply|compile|craft
    |type\s+up|draw\s+up|need|want|have|see|hand)"""

# Openings that carry no meaning for the request: greetings, politeness, "can you", "I'd like".
OPENING = re.compile(
    r"""^(?:(?:hey(?:\s+there)?|hi|hello|ok(?:ay)?|so|now|alright|well|please|pls|plz|kindly
    |just|also|then|and|but|quick(?:ly)?|briefly)\b[\s,!.]*
    |(?:can|could|would|will|won'?t)\s+(?:you|u|ya)\b\s*
    |(?:can|could|may|might)\s+(?:i|we)\s+(?:please\s+)?(?:have|get|see|ask\s+for)\b\s*
    |(?:i|we)(?:'d|\s+would)?\s+(?:like|love|want|need|appreciate|prefer)(?:\s+(?:you\s+)?to)?\b
        \s*
    |(?:let\s+me\s+(?:have|get|see)|let's(?:\s+(?:have|get|see|do))?|help\s+me(?:\s+to)?
        |i'?m\s+(?:asking|looking)\s+for|tell\s+me|show\s+me)\b\s*
    |how\s+(?:would|might|could)\s+you\b\s*)""",
    _F,
)

SHAPES = [
    # "summarize the Rhine", "sum it up", "tl;dr: Genghis Khan", "summarize for me the history of X"
    re.compile(
        rf"""^(?:{SUMMARY_VERB}|{WRAPPING_VERB})(?:\s+(?:for\s+)?(?:me|us)\b)?
        (?:\s*[:\u2014\u2013-]\s*|\s+|$|(?=[.,;!?]))""",
        _F,
    ),
    # "give me a short overview of X", "write up a summary of X"
    re.compile(
        rf"^{REQUEST_VERB}(?:\s+(?:me|us))?(?:\s+with)?\s+{DETERMINER}{ADJECTIVES}{DIGEST}"
        rf"{NOUN_ENDS}",
        _F,
    ),
    # "overview of X", "a brief summary of X, please", "key takeaways: X"
    re.compile(rf"^{DETERMINER}{ADJECTIVES}{DIGEST}{NOUN_ENDS}", _F),
    # "what are the key takeaways from X", "what's the gist of X" (not "what were": history)
    re.compile(
        rf"""^(?:what(?:'s|\u2019s|\s+is|\s+are|'re|\s+would\s+be)|whats)\s+(?:the|your)\s+
        {ADJECTIVES}{DIGEST}{NOUN_ENDS}""",
        _F,
    ),
    # "brief me on X", "catch me up on X", "bring me up to speed on X"
    re.compile(
        r"^(?:brief|catch|fill|bring|get)\s+(?:me|us)\s+(?:up\s+to\s+speed\s+|up\s+|in\s+)?"
        r"(?:on|about|with)\b",
        _F,
    ),
    # "walk me through the main points of X" (not "walk me through installing it")
    re.compile(
        rf"^(?:walk|run|take|talk)\s+(?:me|us)\s+through\s+(?={DETERMINER}{ADJECTIVES}{DIGEST})",
        _F,
    ),
    # "put the Rhine article in a nutshell"
    re.compile(r"^put\s+(?=.*\bin\s+a\s+nutshell\b)", _F),
]

# Where a request may start inside a sentence: "For my class, summarize X", "Hey, X summary".
CLAUSE_BREAK = re.compile(r"[,;:\u2014\u2013]\s+")
REQUEST_OPENING = re.compile(rf"^{REQUEST_VERB}(?:\s+(?:me|us))?\s+", _F)
SENTENCE_STOP = re.compile(r"[.!?\n]")

# "Nikola Tesla summary please", "Rhine tl;dr", "Apollo program in a nutshell?"
TRAILING_SHAPE = re.compile(
    rf"""^(?P<topic>[^?]{{1,80}}?)[\s,:\u2014\u2013-]*(?:summary|overview|recap|synopsis|rundown
    |{TLDR}|in\s+a\s+nutshell|key\s+points|main\s+points|highlights)(?:[\s,]*(?:please|pls|plz))?
    [\s.!?]*$""",
    _F,
)
# A trailing summary word after these is a question or a remark ("What is an executive
# summary?", "Thanks for the recap!"), not a request.
NOT_A_TOPIC_START = re.compile(
    r"""^(?:what|who|whom|whose|when|where|why|which|how|is|are|was|were|am|do|does|did|can
    |could|would|will|should|shall|may|might|has|have|had|i|we|you|he|she|they|it|thanks|thank
    |explain|describe|define)\b""",
    _F,
)
NOT_A_TOPIC_END = re.compile(
    r"\b(?:the|a|an|this|that|my|your|its|their|his|her|our|of|for|and|executive|brief|short)$",
    _F,
)

# --- topic, focus, length -----------------------------------------------------------------------

FOCUS = re.compile(
    r"""(?:,?\s*\b(?:focuss?ing|concentrating|centering|centred|centered|zooming\s+in)\s+on
    |\b(?:with|and)\s+(?:a\s+|an\s+|particular\s+|special\s+|some\s+)*(?:focus|emphasis)\s+on
    |,\s*(?:especially|particularly|in\s+particular|notably|mainly|mostly|primarily|above\s+all
        |highlighting|emphasi[sz]ing|stressing)\b
    |,?\s*\bpaying\s+(?:\w+\s+)?attention\s+to
    |(?:^\s*|[.;:!?]\s*|\band\s+)(?:please\s+)?focus\s+on
    |\bwith\s+(?:an\s+)?eye\s+(?:on|to))\s*""",
    _F,
)

NUMBER = r"""(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|a\s+few|few|several|some
    |a\s+couple\s+of|couple\s+of|\d+)(?:\s*(?:-|\u2013|to|or)\s*(?:one|two|three|four|five|six
    |seven|eight|nine|ten|\d+))?"""
UNIT = r"(?:sentences?|lines?|words?|paragraphs?|bullet\s+points?|bullets?|points?|pages?|tweets?)"
COUNT = rf"""(?:(?:in|into|to|as|with|using|within|under|in\s+under|in\s+less\s+than|in\s+about
    |in\s+no\s+more\s+than)\s+)?(?P<number>{NUMBER})[\s-]+(?P<unit>{UNIT})\b"""
COUNT_HINT = re.compile(COUNT, _F)
RANGE = re.compile(r"\s*(?:-|\u2013|\bto\b|\bor\b)\s*")
STYLE = r"""(?:in\s+(?:plain|simple|easy|everyday)\s+(?:english|language|terms|words)
    |in\s+layman'?s\s+terms|(?:as|in)\s+(?:a\s+)?(?:bullet(?:ed)?\s+)?(?:list|points)
    |in\s+bullets?|for\s+(?:a|an)\s+(?:beginner|child|kid|student|expert|layperson|layman
    |non-expert|executive|newcomer)s?|like\s+i'?m\s+(?:five|5))"""
MANNER = r"""(?:briefly|quickly|concisely|succinctly|in\s+brief|in\s+short|in\s+a\s+nutshell
    |in\s+a\s+word|in\s+(?:great\s+|more\s+|full\s+|some\s+)?detail|in[\s-]depth|in\s+full
    |at\s+length|thoroughly|comprehensively|with\s+(?:more|lots\s+of|much|some|full|great)\s+
    details?|with\s+details?)"""
POLITE = r"""(?:please|pls|plz|thanks|thank\s+you|thx|for\s+me|for\s+us|if\s+you\s+(?:can|could
    |would|don'?t\s+mind)|if\s+possible|kindly|real\s+quick|as\s+well|too|also|again|instead)"""
KEEP = r"""(?:(?:but|and)\s+)?(?:keep|make)\s+it\s+(?:short|brief|simple|concise|quick|tight|long
    |detailed|thorough)(?:\s+(?:and|but)\s+\w+)?"""
EDGE = r"[\s,;:.!?\"'\u201c\u201d\u2018\u2019()\u2014\u2013-]"
HINT = rf"(?:{COUNT}|{STYLE}|{MANNER}|{KEEP}|{POLITE})"
LEADING_NOISE = re.compile(rf"^{EDGE}*(?:(?:{HINT}|{PREPOSITION})\b)?{EDGE}*", _F)
TRAILING_NOISE = re.compile(rf"{EDGE}*\b{HINT}?{EDGE}*$", _F)

DOCUMENT = r"""(?:articles?|documents?|docs?|reports?|pages?|texts?|pieces?|stor(?:y|ies)
    |entr(?:y|ies)|files?|papers?|passages?|sections?|chapters?|materials?|notes|news|coverage
    |reporting|sources?|write-?ups?|corpus|wiki|posts?|emails?|memos?|reviews?|transcripts?
    |threads?|messages?|letters?|paragraphs?|press\s+releases?|information|info|content)"""
WHEN = r"""(?:today'?s|yesterday'?s|this\s+(?:week|morning|month)'?s|last\s+(?:week|month)'?s
    |latest|recent|new|current|wikipedia|news|all(?:\s+the)?)"""
# "the article about", "today's news on", "the document titled": where the topic is, not what.
DOCUMENT_LEAD = re.compile(
    rf"""^(?:(?:the|this|that|these|those|our|my|your|its|their|some|any)\s+)*(?:{WHEN}\s+)*
    {DOCUMENT}\b(?:\s+(?:about|on|of|regarding|concerning|covering|titled|entitled|called|named
    |describing|discussing|dealing\s+with|related\s+to|for|in)\b|\s*$)\s*""",
    _F,
)
# "what the documents say about", "everything we know about", "everything on"
SAYING_LEAD = re.compile(
    rf"""^(?:what|everything|all)\s+(?:that\s+)?(?:(?:the|our|my|your|these|those)\s+)?
    (?:{DOCUMENT}\s+)?(?:[\w']+\s+){{0,3}}?(?:about|on|regarding|concerning)\s+""",
    _F,
)
# "the main points of", "a summary of": a request nested in the topic ("outline the key points of")
DIGEST_LEAD = re.compile(rf"^{DETERMINER}{ADJECTIVES}{DIGEST}\s+{PREPOSITION}\s+", _F)
TRAILING_DOCUMENT = re.compile(rf"\s+{DOCUMENT}$", _F)
ARTICLE = re.compile(r"^(?:the|a|an)\s+", _F)
# Words that name no topic: "summarize it", "this article", "the text below", "the documents",
# "your last answer", "what we discussed": the caller knows what they refer to.
VACUOUS = re.compile(
    rf"""^(?:(?:the|this|that|these|those|it|them|all|of|whole|entire|everything|thing|above
    |below|following|here|so\s+far|one|conversation|chat|discussion|last|previous|earlier|your
    |you|we|what|just|said|wrote|discussed|answers?|repl(?:y|ies)|responses?|{DOCUMENT})\b\s*)*$""",
    _F,
)
POINTER = re.compile(r"\b(?:this|these|that|it|following|above|below|here)\b", _F)

WORDS_OF_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "few": 3, "a few": 3, "some": 3, "several": 4,
    "couple of": 2, "a couple of": 2,
}  # fmt: skip
SHORT = re.compile(
    rf"""\b(?:{TLDR}|tldr|brief(?:ly)?(?!\s+(?:me|us)\b)|short(?:er)?|quick(?:ly)?|concise(?:ly)?|succinct(?:ly)?
    |nutshell|in\s+short|in\s+a\s+word|one-liner|gist|high-level|bare[\s-]bones)\b""",
    _F,
)
LONG = re.compile(
    r"""\b(?:detail|detailed|long(?:er)?|lengthy|thorough(?:ly)?|comprehensive(?:ly)?
    |in[\s-]depth|full|extensive(?:ly)?|exhaustive(?:ly)?|at\s+length|complete)\b""",
    _F,
)
MEDIUM = re.compile(rf"\b(?:{POINTS}|bullet\s+points|a\s+paragraph|one\s+paragraph)\b", _F)
# A word for "short" wins over one for "long", which wins over "main points" ("briefly, the main
# points" is short, "the main points in detail" long).
LENGTH_WORDS: tuple[tuple[re.Pattern[str], Length], ...] = (
    (SHORT, "short"),
    (LONG, "long"),
    (MEDIUM, "medium"),
)


@dataclass(frozen=True)
class _Request:
    """A summary instruction found in a clause: the topic it names and the hints around it."""

    topic: str | None
    points_at_text: bool
    length: Length | None
    focus: str | None


def _lines(text: str) -> list[str]:
    """The non-empty lines of a sentence: a line break ends an instruction as a period does."""
    return [line for line in text.split("\n") if line.strip()]


def _request(clause: str, after: str = "") -> _Request | None:
    """The summary instruction starting ``clause`` (or one of its comma-separated parts).

    ``after`` is the text following the clause, read only for a focus or length hint ("Summarize
    the Rhine. Focus on pollution.").
    """
    for start in [0, *(m.end() for m in CLAUSE_BREAK.finditer(clause))]:
        part = _without_opening(clause[start:])
        raw = _topic_text(part)
        if raw is not None:
            return _parse(clause, raw, after)
    return None


def _without_opening(text: str) -> str:
    """``text`` without greetings and politeness ("Hey, could you please ...")."""
    while True:
        match = OPENING.match(text)
        if match is None or match.end() == 0:
            return text
        text = text[match.end() :]


def _topic_text(part: str) -> str | None:
    """The raw text naming the topic when ``part`` opens with a request shape, else None."""
    for shape in SHAPES:
        match = shape.match(part)
        if match is not None:
            return part[match.end() :]
    match = TRAILING_SHAPE.match(part)
    if match is not None:
        topic = REQUEST_OPENING.sub("", match["topic"].strip())
        if (
            0 < len(topic.split()) <= TRAILING_TOPIC_WORDS
            and not NOT_A_TOPIC_START.match(topic)
            and not NOT_A_TOPIC_END.search(topic)
        ):
            return topic
    return None


def _parse(clause: str, raw: str, after: str) -> _Request:
    """Topic, focus and length of an instruction whose topic text is ``raw`` (within ``clause``)."""
    focus = None
    match = FOCUS.search(raw)
    if match is not None:
        focus = _clean(raw[match.end() :])
        raw = raw[: match.start()]
    else:
        match = FOCUS.search(after)
        if match is not None:
            focus = _clean(SENTENCE_STOP.split(after[match.end() :])[0])
    topic = _topic(raw)
    hints = clause + " " + after
    for words in (topic, focus):
        if words:
            hints = hints.replace(words, " ", 1)
    points = topic is None and POINTER.search(raw) is not None
    return _Request(topic, points, _length(hints), focus or None)


def _clean(text: str) -> str:
    """``text`` without politeness, length or style hints and punctuation at either edge."""
    while True:
        cleaned = TRAILING_NOISE.sub("", LEADING_NOISE.sub("", text, count=1), count=1)
        if cleaned == text:
            return text
        text = cleaned


def _topic(raw: str) -> str | None:
    """The topic words of ``raw``: lead-ins, hints, a document word and an article removed."""
    topic = raw
    while True:
        before = topic
        topic = _clean(topic)
        for lead in (DIGEST_LEAD, SAYING_LEAD, DOCUMENT_LEAD):
            topic = lead.sub("", topic, count=1)
        stripped = TRAILING_DOCUMENT.sub("", topic)
        if stripped.strip() and not VACUOUS.match(stripped):
            topic = stripped
        if topic == before:
            break
    topic = ARTICLE.sub("", topic)
    if not topic or VACUOUS.match(topic):
        return None
    return topic


def _length(hints: str) -> Length | None:
    """The length the words around the topic ask for; counts first, then words, then points."""
    for count in COUNT_HINT.finditer(hints):
        number = RANGE.split(count["number"].lower())[-1]
        unit = count["unit"].lower()
        if number in ("a", "an") and unit.startswith(("bullet", "point")):
            continue  # "a bullet-point summary" is a format, not one point
        n = int(number) if number.isdigit() else WORDS_OF_NUMBERS.get(number, 3)
        if unit.startswith("word"):
            return "short" if n <= 50 else "medium" if n <= 200 else "long"
        if unit.startswith(("paragraph", "page")):
            return "medium" if n <= 1 and unit.startswith("paragraph") else "long"
        return "short" if n <= 2 else "medium" if n <= 5 else "long"
    for pattern, length in LENGTH_WORDS:
        if pattern.search(hints):
            return length
    return None


# --- pasted text ------------------------------------------------------------------------------

HEAD_BREAK = re.compile(r":\s|\n")
# Any stop, lower-case after it or not: "... in June. tl;dr" ends with an instruction.
TAIL_BREAK = re.compile(r"[.!?]\s+")
HERE_IS = re.compile(
    r"^(?:here\s+is|here's|here\s+are|this\s+is|below\s+is|the\s+following\s+is)\b[^:\n]{0,60}:\s*",
    _F,
)


def _pasted(text: str) -> tuple[_Request, str] | None:
    """The instruction and the document when ``text`` is an instruction with pasted text.

    The instruction comes first (ending at the first colon or line break, or with the first
    sentence) or last (the last line or sentence); the text on the other side is the document.
    An instruction is short: a longer head or tail is part of the document.
    """
    spans = sentences(text)
    separator = HEAD_BREAK.search(text)
    heads = {spans[0][1]} | ({separator.start()} if separator else set())
    for cut in sorted(cut for cut in heads if 0 < cut < len(text)):
        head, body = text[:cut], text[cut:].lstrip(":").strip()
        if len(head.split()) > INSTRUCTION_WORDS:
            continue
        separated = text[cut] in ":\n"
        request = _request(head)
        if request is not None and _is_pasted(request, body, separated=separated):
            return request, body
    last_stop = [m.end() for m in TAIL_BREAK.finditer(text)][-1:]
    tails = {text.rfind("\n") + 1, spans[-1][0], *last_stop}
    for cut in sorted((cut for cut in tails if 0 < cut < len(text)), reverse=True):
        body, tail = text[:cut].strip(), text[cut:]
        if len(tail.split()) > INSTRUCTION_WORDS:
            continue
        request = _request(tail)
        if request is not None and request.topic is None and _is_pasted(request, body):
            return request, HERE_IS.sub("", body)
    return None


def _is_pasted(request: _Request, body: str, *, separated: bool = False) -> bool:
    """Whether ``body`` is a document to summarize rather than a remark or more questions.

    Long text after a colon or a line break is one even when the instruction names a topic
    ("Summarize the Apollo program:\\n\\n<the article>"); otherwise the instruction must name none.
    """
    words = len(body.split())
    if separated and words > PASTE_WORDS:
        return True
    if request.topic is not None:
        return False
    return words > PASTE_WORDS or (request.points_at_text and words >= POINTED_PASTE_WORDS)

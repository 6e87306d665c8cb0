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
overview of X", "what are the key takeaways from X", "X tl;dr"; a clause starts a sentence or
follows a comma, colon or dash: "I'm short on time - what's the gist of X") rather than for summary
words anywhere, which is what keeps questions that merely contain the word ("What is a summary
judgment?", "Who wrote the summary of the Warren Commission?") questions. Each shape is a family:
a verb or noun slot filled from a vocabulary with its common misspellings ("sumarize", "tl dr",
"overveiw"), synonyms and slang ("boil down", "cheat sheet", "the big picture on", "the skinny
on"). Verbs that shorten anything ("shorten", "reduce", "cut down", "turn ... into") make a request
only with a text as their object ("shorten the Rhine article") or a summary as their result
("reduce X to its main points"); "skim X and give me the key points" takes its topic from the
first verb; "explain X" becomes a request only with a summary idiom ("explain X in a nutshell").

A request targets a topic or a document as a whole; a question asks about a property. So "what
are the main points of X" is a question when X is a kind ("a limerick") or a body of claims whose
points are its content ("Protestant doctrine", "the Treaty of Versailles"), "what were the main
points of X" a question about history unless X is a document, and "can you summarize PDFs?" a
question about what the service can do.

Conventions of the result:

- ``topic`` keeps the user's words (their case included) minus the lead-in ("the article about",
  "what the documents say about", "the main points of", "what's happening with"), politeness,
  length, style and audience hints ("asap", "for a ten-year-old", "before my exam"), a trailing
  document word ("the Rhine article" gives "Rhine") and a leading article ("the Black Death"
  gives "Black Death"): the words a retriever needs, nothing it would be misled by.
- ``topic`` is None when the request names no topic ("summarize it", "summarize the documents",
  the follow-ups "shorter please", "make it shorter") or points at text ("summarize this", "the
  above"); with ``pasted`` None too, the caller decides what "it" is (the previous answer, the
  whole collection).
- ``pasted`` is the text to summarize as given when the message carries one: an instruction and,
  after a colon or a line break, more than :data:`PASTE_WORDS` words; or an instruction pointing
  at it ("this", "the following", "the text below", "the above") and at least
  :data:`POINTED_PASTE_WORDS` words; the instruction may come first or last.
- "Tell me about X", "explain X" and "describe X" stay questions, even with a length hint
  ("explain X briefly"): the reader answers them.

The labelled requests these rules were written and chosen on are in ``corpora/router/``; their
scores come from ``python -m evaluation.router_eval``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import islice
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

CLAUSES = 8
"""Most clause breaks a request may follow inside a sentence ("Hi, for my class, quick one -
summarize X"): a sentence of many more parts is a list, not a request, and reading each part
would cost time in proportion to their number squared."""

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

    Pure string work on compiled patterns: under 0.4 ms for every message of the labelled sets
    on one shared core, about 0.1 ms on average.
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

# Spellings as typed: "tl;dr", "tldr", "tl dr", "tl/dr"; "summarise", "sumarize", "summerize".
TLDR = r"tl(?:\s?[;:/,]\s?|\s)?dr"
SUMMARIZE = r"su+m+[aeiu]?r+[iy][sz]e"
NUTSHELL = r"nut\s?shell"
SUMMARY_VERB = rf"""(?:{SUMMARIZE}|sum\s+up|re-?cap(?:itulate)?|condense|abridge|distill?
    |boil\s+down|outline|{TLDR}|pr[ée]cis|digest|encapsulate)"""
PRONOUN = r"(?:it|this|that|these|them|those|everything|it\s+all|all\s+of\s+(?:it|this|that))"
# "sum it up", "boil this down": the verb wraps its object.
WRAPPING_VERB = rf"(?:sum\s+{PRONOUN}\s+up|boil\s+{PRONOUN}\s+down)"
DOCUMENT = r"""(?:articles?|documents?|docs?|reports?|pages?|texts?|pieces?|stor(?:y|ies)
    |entr(?:y|ies)|files?|papers?|passages?|sections?|chapters?|materials?|notes|news|coverage
    |reporting|sources?|write-?ups?|corpus|wiki|posts?|emails?|memos?|reviews?|transcripts?
    |threads?|messages?|letters?|paragraphs?|press\s+releases?|information|info|content)"""
# Verbs that shorten anything ("shorten my commute", "reduce costs", "break down a budget"): a
# summary request only with a text as object or a summary as the result (see SHAPES).
SHORTEN_VERB = r"""(?:shorten|trim(?:\s+down)?|cut\s+down|compress|shrink|pare\s+down|whittle\s+down
    |tighten(?:\s+up)?|round\s+up)"""
INTO_VERB = r"(?:reduce|turn|break(?:\s+down)?|convert|transform|make|put|get|squeeze|crunch)"
# Adjectives that make "<adjective> version" a summary ("the short version", "the CliffsNotes
# version", "a 30-second version"); not "the full version".
VERSION = rf"""(?:(?:short|shorter|quick|brief|condensed|abridged|compact|cliff'?s?\s*notes?
    |cliffsnotes|{TLDR}|elevator|{NUTSHELL}|bite-?sized|executive|reader'?s\s+digest
    |(?:\d+|[a-z]+)-?(?:second|minute|sentence|line|page))[\s-]+){{1,3}}version"""
SUMMARY_NOUN = rf"""(?:su+m+[ae]?r+(?:y|ies)|summari[sz]ation|sum-?up|over[\s-]?v[ie]{{1,2}}ws?
    |re-?cap(?:itulation)?s?|synop[sc][ie]s|run[\s-]?down|digest|pr[ée]cis|abstract|gist|outline
    |{TLDR}|round-?up|wrap-?up|low-?down|skinny|briefing|debrief|headlines|{VERSION}
    |cliff'?s?\s*notes?|cliffsnotes|(?:cheat|crib)\s*sheet|one-pager|bird'?s[\s-]eye\s+view
    |(?:\d+|ten|thirty|fifty)[,\s-]*(?:000|thousand)[\s-]*(?:foot|feet|ft)\s+view|big\s+picture
    |long\s+and\s+(?:the\s+)?short(?:\s+of\s+it)?|quick\s+and\s+dirty|411
    |(?<=\bthe\s)short\s+story(?=\s+(?:on|with)\b))"""
# Plural only: "the main point of civil disobedience" asks what its point is, a question.
POINTS = r"""(?:(?:most\s+)?(?:main|key|major|important|essential|central|principal|salient|core
    |crucial|big|biggest|top|chief|basic|notable|significant|primary)\s+(?:points|ideas|takeaways
    |facts|findings|themes|arguments|messages|conclusions|events|highlights|lessons|details|bits
    |things\s+to\s+know)|takeaways|highlights|essentials|basics|bullet\s+points)"""
# "the main points of contention between the EU and the UK" is a question about a dispute.
NOT_A_DIGEST = r"""(?!\s+(?:of|in)\s+(?:contention|difference|disagreement|agreement|debate
    |dispute|conflict|view|departure|divergence|similarity|comparison|interest|order|law|friction
    |tension|overlap|criticism|concern|contact|entry|reference|sale|failure|light|no\s+return
    |favou?r|support|defen[cs]e)\b)"""
ADJECTIVE = r"""(?:brief|short|shorter|quick|concise|succinct|detailed|long|longer|lengthy|full
    |fuller|thorough|comprehensive|in-depth|in\s+depth|high-level|general|executive|bulleted
    |bullet(?:-|\s)?point(?:ed)?|simple|basic|overall|little|good|nice|clear|complete|extended
    |broad|big-picture|fast|tight|plain|proper|decent|readable|rough|super\s+short|very\s+short
    |\w+-(?:sentence|line|paragraph|word|page|minute|second|point)s?
    |\d+(?:-\d+)?-?(?:sentence|line|paragraph|word|page|minute|second|point)s?)"""
ADJECTIVES = rf"(?:{ADJECTIVE}[\s,]+(?:and\s+)?){{0,3}}"
DETERMINER = r"(?:(?:a|an|the|some|any|your|my|our|one)\s+)?"
DIGEST = rf"(?:{SUMMARY_NOUN}|{POINTS}{NOT_A_DIGEST})"
HINT_START = r"""(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|few|several|\d|detail
    |depth|brief|short|plain|simple|bullets?|bullet\s+points|full|terms)\b"""
# "in" leads a topic ("key points in the report") unless it leads a hint ("in one sentence").
PREPOSITION = rf"""(?:of|on|about|from|regarding|concerning|covering|with
    |in(?!\s+{HINT_START}))"""
# "the summary for the Harvard article" (not "the summary for policymakers")
DOCUMENT_NAMED = rf"""(?=(?:the|this|that|these|those|my|our|your)\s+(?:[\w'-]+\s+){{0,4}}?
    {DOCUMENT}\b)"""
# What may follow a summary noun: a topic after a preposition or a colon, "here", or the clause's
# end; "for" after a sheet ("a cheat sheet for the exam") or before a document. "summary
# judgment", "summary for policymakers", "overview effect" have none of these.
NOUN_ENDS = rf"""(?=(?:\s*,?\s*(?:please|pls|plz))?(?:\s*[:\u2014\u2013-]|\s+{PREPOSITION}\b
    |\s+here\b|(?:(?<=sheet)|(?<=notes)|(?<=pager))\s+for\b|\s+for\s+{DOCUMENT_NAMED}
    |\s*[.!?,;]|\s*$))"""
REQUEST_VERB = r"""(?:give|gimme|get|show|tell|write(?:\s+up)?|make|produce|prepare|provide|send
    |create|generate|draft|offer|share|put\s+together|pull\s+together|whip\s+up|do|compose
    |deliver|present|supply|compile|craft|type\s+up|draw\s+up|need|want|have|see|hand|list
    |pull\s+out|pick\s+out|extract|highlight|identify|lay\s+out|spell\s+out|jot\s+down|go\s+over
    |run\s+through|hit|wrap\s+up|break\s+down)"""
# Words that make a summary of an explanation: "explain X in a nutshell", "describe X as a summary".
SUMMARY_IDIOM = rf"""(?:in\s+a\s+{NUTSHELL}|in\s+summary\s+form
    |(?:as|in)\s+(?:a\s+)?(?:\w+\s+)?summary\b|(?:as|in)\s+(?:a\s+)?{TLDR}
    |{TLDR}[\s-]*(?:style|form|version))"""
# What a shortening verb's object or result must name: a text, a pronoun, a count or a summary.
TEXTUAL = rf"""\b(?:{DOCUMENT}|answers?|repl(?:y|ies)|responses?|summar(?:y|ies)|versions?
    |explanations?|{PRONOUN}|following|above|below)\b"""

# Openings that carry no meaning for the request: greetings, politeness, "can you", "I'd like".
OPENING = re.compile(
    r"""^(?:(?:hey(?:\s+there)?|hi(?:\s+there)?|hello|yo|ok(?:ay)?|so|now|alright|right|well
        |please|pls|plz|kindly|just|only|also|then|and|but|basically|honestly|anyway|quick(?:ly)?
        |briefly|real\s+quick|possibly|maybe|perhaps|go\s+ahead\s+and)\b[\s,!.]*
    |(?:can|could|would|will|won'?t)\s+(?:you|u|ya)\b\s*
    |(?:can|could|may|might)\s+(?:i|we)\s+(?:please\s+)?(?:have|get|see|ask\s+for)\b\s*
    |(?:(?:i|we)(?:'d|\s+would)?\s+|would\s+)(?:like|love|want|need|appreciate|prefer)
        (?:\s+(?:it\s+if\s+you\s+(?:could|would|can)|you\s+to|to))?\b\s*
    |(?:i|we)(?:'m|\s+am|\s+was|\s+were|'re|\s+are)?\s+wondering\s+if\s+(?:you\s+(?:could|would|can)
        |(?:i|we)\s+(?:could|can)\s+(?:get|have))\b\s*
    |i\s+wonder\s+if\s+you\s+(?:could|would|can)\b\s*
    |any\s+chance\s+(?:you\s+(?:could|can)|(?:i|we)\s+(?:could|can)\s+(?:get|have)|of)\b\s*
    |(?:is\s+it|would\s+it\s+be)\s+possible\s+(?:for\s+you\s+)?to(?:\s+(?:get|have|see))?\b\s*
    |is\s+there\s+(?:any\s+)?(?:way|chance)\s+(?:you\s+(?:could|can)|(?:i|we)\s+(?:could|can)
        \s+(?:get|have)|to\s+(?:get|have))\b\s*
    |(?:let\s+me\s+(?:have|get|see)|let's(?:\s+(?:have|get|see|do))?
        |help\s+me(?:\s+to)?(?:\s+(?:understand|grasp))?
        |(?:i'?m\s+)?(?:asking|looking)\s+for|tell\s+me|show\s+me)\b\s*
    |how\s+(?:would|might|could)\s+you\b\s*)""",
    _F,
)
# "would you mind giving me ...", "how about summarizing ...": the gerund is the request's verb
# (see _readings).
GERUND_OPENING = re.compile(
    r"""^(?:(?:do|would|will)\s+(?:you|u)\s+)?(?:mind|how\s+about|what\s+about)
    \s+(?P<gerund>\w+ing)\b""",
    _F,
)

# "what are the main points of X" asks for a summary of X, except when X is a kind ("a limerick":
# what any limerick's gist is) or a body of claims whose points are its content ("Protestant
# doctrine", "the Treaty of Versailles"): questions for the reader. "what were ..." asks about
# history unless it names a document ("what were the key points of yesterday's coverage").
TENET = re.compile(
    r"""^(?:doctrines?|dogmas?|theology|teachings?|creeds?|catechism|ideolog(?:y|ies)
    |philosoph(?:y|ies)|theor(?:y|ies)|thesis|theses|hypothes[ie]s|arguments?|manifestos?
    |treaty|treaties|accords?|pacts?|charters?|constitutions?|declarations?|proclamations?
    |speech(?:es)?|sermons?|lectures?|proposals?|plans?|polic(?:y|ies)|platforms?|agendas?
    |beliefs?|faith|principles|tenets|points|commandments)$""",
    _F,
)
CONTENT_NOUN = re.compile(rf"^(?:{POINTS}|gist)$", _F)
INDEFINITE = re.compile(r"^(?:a|an|any|every|each)\s", _F)
LEADING_PREPOSITION = re.compile(rf"^\s*{PREPOSITION}\s+", _F)
HEAD_END = re.compile(
    r"""\s+(?:of|on|in|about|from|for|between|by|with|regarding|concerning|that|which|who|and)\b
    |[,.;:!?]""",
    _F,
)

SHAPES = [
    # "summarize the Rhine", "sum it up", "tl;dr: Genghis Khan", "summarize for me the history of X"
    re.compile(
        rf"""^(?:{SUMMARY_VERB}|{WRAPPING_VERB})(?:\s+(?:for\s+)?(?:me|us)\b)?
        (?:\s*[:\u2014\u2013-]\s*|\s+|$|(?=[.,;!?]))""",
        _F,
    ),
    # "sum the Super Bowl article up", "boil the Normans documents down to three points"
    re.compile(r"^sum\s+(?!up\b)(?P<object>[^.!?]{1,80}?)\s+up\b", _F),
    re.compile(r"^boil\s+(?!down\b)(?P<object>[^.!?]{1,80}?)\s+down\b", _F),
    # "shorten the Rhine article", "cut this down to two sentences" (not "shorten my commute")
    re.compile(
        rf"""^{SHORTEN_VERB}(?=[^.!?\n]*?{TEXTUAL}
        |[^.!?\n]*?\b(?:in)?to\s+(?:a|an|one|two|three|\d)\b)(?:\s+(?:for\s+)?(?:me|us)\b)?\s*""",
        _F,
    ),
    re.compile(
        rf"""^(?:cut|trim|pare|whittle|slim)\s+(?!down\b)
        (?P<object>(?=[^.!?\n]*?{TEXTUAL})[^.!?\n]{{1,80}}?)\s+down\b""",
        _F,
    ),
    # "reduce X to its main points", "turn X into a one-paragraph summary", "break X down into
    # its key points" (not "reduce costs", "break down a budget")
    re.compile(
        rf"""^{INTO_VERB}\s+(?=[^.!?\n]*?\b(?:down\s+)?(?:in)?to\s+(?:(?:just|only)\s+)?
        (?:(?:a|an|the|its|their|his|her|some|a\s+few|few|several|one|two|three|four|five|six
        |seven|eight|nine|ten|\d+)\s+)*{ADJECTIVES}(?:{DIGEST}|bare\s+(?:bones|essentials))\b)""",
        _F,
    ),
    # "give me a short overview of X", "write up a summary of X"
    re.compile(
        rf"^{REQUEST_VERB}(?:\s+(?:me|us))?(?:\s+with)?\s+{DETERMINER}{ADJECTIVES}{DIGEST}"
        rf"{NOUN_ENDS}",
        _F,
    ),
    # "overview of X", "a brief summary of X, please", "key takeaways: X"
    re.compile(rf"^{DETERMINER}{ADJECTIVES}(?P<nominal>{DIGEST}){NOUN_ENDS}", _F),
    # "what are the key takeaways from X", "what's the gist of X"; see TENET for the exceptions
    re.compile(
        rf"""^(?:what(?:'s|\u2019s|\s+is|\s+are|'re|\s+would\s+be
        |\s+(?:would|do)\s+you\s+(?:say|think)\s+(?:is|are))|whats
        |(?P<past>what\s+(?:was|were)))\s+(?:the|your|some)\s+{ADJECTIVES}(?P<noun>{DIGEST})
        {NOUN_ENDS}""",
        _F,
    ),
    # "brief me on X", "catch me up on X", "bring me up to speed on X", "update me on X"
    re.compile(
        r"""^(?:(?:brief|debrief|catch|fill|bring|get|update|clue|loop)\s+(?:me|us)
        (?:\s+(?:up\s+to\s+(?:speed|date)|caught\s+up|up|in))?|(?:get|catch)\s+up(?:\s+to\s+speed)?)
        \s+(?:on|about|with|regarding)\b""",
        _F,
    ),
    # "walk me through the main points of X" (not "walk me through installing it")
    re.compile(
        rf"^(?:walk|run|take|talk)\s+(?:me|us)\s+through\s+(?={DETERMINER}{ADJECTIVES}{DIGEST})",
        _F,
    ),
    # "explain the Yuan dynasty in a nutshell", "put the Rhine article in a nutshell"
    re.compile(
        rf"""^(?:explain|describe|about|present|put|lay\s+out|go\s+over|cover|break\s+down
        |(?:walk|talk|take)\s+(?:me|us)\s+through)\b(?=[^.!?\n]*?{SUMMARY_IDIOM})""",
        _F,
    ),
    # Follow-ups: "shorter please", "make it shorter", "in a nutshell?"
    re.compile(
        r"""^(?:(?:even|much|a\s+(?:bit|little|lot)|way|somewhat)\s+)?(?:shorter|briefer
        |more\s+(?:concise|succinct|brief)|tighter)(?=(?:\s+(?:version|one|summary|answer|please
        |pls|plz|now|again|still))*[\s.!?]*$)""",
        _F,
    ),
    re.compile(
        r"""^(?:make|keep|get)\s+(?:it|this|that|(?:your|the)\s+(?:last\s+)?(?:answer|reply
        |response|summary))\s+(?:(?:a\s+(?:bit|little|lot)|much|even|way)\s+)?(?:shorter|briefer
        |more\s+(?:concise|succinct|brief)|tighter|concise|brief|short)\b""",
        _F,
    ),
    re.compile(rf"^in\s+a\s+{NUTSHELL}(?=[\s,]*(?:please|pls|plz)?[\s.!?]*$)", _F),
]

# "skim the Rhine article and give me the key points", "read X and sum it up": the request is
# the second verb's, its topic the first verb's object.
SKIM_AND = re.compile(
    r"""^(?:skim(?:\s+(?:through|over))?|read(?:\s+(?:through|over))?|go\s+(?:through|over)
    |look\s+(?:through|over|at)|scan(?:\s+through)?|review|check(?:\s+out)?|comb\s+through
    |dig\s+(?:into|through)|(?:have|take)\s+a\s+(?:quick\s+)?look\s+(?:at|through))\s+
    (?P<object>[^.!?\n]{1,100}?)\s*,?\s+(?:and|&|then)\s+(?:then\s+)?(?P<then>.+)$""",
    _F,
)
# "Can you summarize PDFs?", "Could you summarize documents in French?": about what the service
# can do, not a request (a request names which: "the documents", "this PDF").
CAPABILITY = re.compile(
    rf"""^(?:(?:can|could|do|will|would)\s+(?:you|u)|is\s+it\s+possible\s+to|are\s+you\s+able\s+to)
    \s+(?:also\s+|even\s+|really\s+|actually\s+)?(?:{SUMMARY_VERB}|{SHORTEN_VERB})\s+
    (?:(?!(?:the|this|that|these|those|my|our|your|his|her|its|their|a|an)\b)[\w'-]+\s+){{0,3}}?
    (?:pdfs?|docs|documents|files|e-?mails|videos|web\s*pages|websites|urls|links|spreadsheets
    |books|slides|texts|articles|papers|transcripts|recordings|podcasts|images|meetings|tables
    |reports|chats|conversations|threads|code)\b(?:\s+(?:in|into|from|written|with|longer|over
    |under|up\s+to|of\s+any)\b[^?]*)?\s*\?\s*$
    |^(?:(?:can|could|do|will|would)\s+(?:you|u)|is\s+it\s+possible\s+to|are\s+you\s+able\s+to)
    \s+(?:also\s+)?{SUMMARY_VERB}\s+(?:in|into|from)\s+[\w-]+\s*\?\s*$""",
    _F,
)
# "Summary of the Rhine: who wrote it?" is a question after all.
QUESTION_AFTER = re.compile(
    r"""(?:[:;\u2014\u2013]|\s-{1,2})\s+(?:who|what|when|where|why|how|which|whose|is|are|was|were
    |did|does|do|can|could)\b[^?]*\?[\s]*$""",
    _F,
)

# Where a request may start inside a sentence: "For my class, summarize X", "Hey, X summary",
# "I'm short on time - what's the gist of X", "So... give me the highlights".
CLAUSE_BREAK = re.compile(r"(?:[,;:\u2014\u2013]|\s-{1,2}|\.\.\.|\u2026)\s+")
REQUEST_OPENING = re.compile(rf"^{REQUEST_VERB}(?:\s+(?:me|us))?\s+", _F)
SENTENCE_STOP = re.compile(r"[.!?\n]")

# "Nikola Tesla summary please", "Rhine tl;dr", "Apollo program in a nutshell?"
TRAILING_SHAPE = re.compile(
    rf"""^(?P<topic>[^?]{{1,80}}?)[\s,:\u2014\u2013-]{{0,6}}(?:su+m+[ae]?r+y|overview|recap|synopsis
    |rundown|{TLDR}|in\s+a\s+{NUTSHELL}|key\s+points|main\s+points|highlights|key\s+takeaways|gist
    |cliff'?s?\s*notes|cheat\s*sheet|short\s+version)(?:[\s,]*(?:please|pls|plz))?[\s.!?]*$""",
    _F,
)
# A trailing summary word after these is a question or a remark ("What is an executive
# summary?", "Thanks for the recap!"), not a request.
NOT_A_TOPIC_START = re.compile(
    r"""^(?:what|who|whom|whose|when|where|why|which|how|is|are|was|were|am|do|does|did|can
    |could|would|will|should|shall|may|might|has|have|had|i|we|you|he|she|they|it|thanks|thank
    |explain|describe|define|no|not|don'?t|never|nobody|someone|somebody|anyone)\b""",
    _F,
)
NOT_A_TOPIC_END = re.compile(
    r"\b(?:the|a|an|this|that|my|your|its|their|his|her|our|of|for|and|executive|brief|short)$",
    _F,
)

# --- topic, focus, length -----------------------------------------------------------------------

FOCUS = re.compile(
    r"""(?:,?\s*\b(?:focuss?ing|concentrating|centering|centred|centered|zooming\s+in
        |zeroing\s+in)\s+on
    |\b(?:with|and)\s+(?:a\s+|an\s+|particular\s+|special\s+|some\s+)*(?:focus|emphasis)\s+on
    |,\s*(?:especially|particularly|in\s+particular|notably|mainly|mostly|primarily|above\s+all
        |highlighting|emphasi[sz]ing|stressing)\b
    |,?\s*\bpaying\s+(?:\w+\s+)?attention\s+to
    |(?:^\s*|[.;:!?]\s*|\band\s+)(?:please\s+)?focus\s+on
    |,?\s*(?:but\s+)?(?:just|only)\s+(?:the\s+)?(?:parts?|bits?|sections?|stuff|things|points)
        \s+(?:about|on|regarding|concerning|dealing\s+with|that\s+(?:cover|concern|deal\s+with))
    |,?\s*\bin\s+terms\s+of|,?\s*\bwith\s+(?:regard|respect)\s+to|,\s*as\s+it\s+relates\s+to
    |\bwith\s+(?:an\s+)?eye\s+(?:on|to))\s*""",
    _F,
)

NUMBER = r"""(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|a\s+few|few|several|some
    |a\s+couple\s+of|couple\s+of|\d+)(?:\s*(?:-|\u2013|to|or)\s*(?:one|two|three|four|five|six
    |seven|eight|nine|ten|\d+))?"""
UNIT = r"""(?:sentences?|lines?|words?|paragraphs?|bullet\s+points?|bullets?|points?|pages?|tweets?
    |minutes?|mins?|seconds?|secs?)"""
COUNT = rf"""(?:(?:in|into|to|as|with|using|within|down\s+to|down\s+into)\s+)?
    (?:(?:under|below|less\s+than|fewer\s+than|about|around|roughly|approximately|no\s+more\s+than
    |at\s+most|max(?:imum)?(?:\s+of)?|a\s+maximum\s+of|up\s+to|just|only)\s+)?(?P<number>{NUMBER})
    [\s-]+(?:(?:short|single|brief|quick|concise|simple|tight|clear)\s+)?(?P<unit>{UNIT})\b
    (?:\s+or\s+(?:two|three|so|less|fewer)\b|\s+(?:max(?:imum)?|tops|at\s+most)\b)?"""
COUNT_HINT = re.compile(COUNT, _F)
UNNAMED_COUNT = COUNT.replace("?P<number>", "").replace("?P<unit>", "")
RANGE = re.compile(r"\s*(?:-|\u2013|\bto\b|\bor\b)\s*")
STYLE = r"""(?:in\s+(?:plain|simple|easy|everyday)\s+(?:english|language|terms|words)
    |in\s+layman'?s\s+terms|(?:as|in)\s+(?:a\s+)?(?:bullet(?:ed)?\s+)?(?:list|points)
    |in\s+bullets?|for\s+(?:a|an)\s+(?:beginner|child|kid|student|expert|layperson|layman
    |non-expert|executive|newcomer)s?|like\s+i'?m\s+(?:five|5|a\s+\w+(?:[\s-]years?[\s-]old)?)
    |(?:(?:in|as)\s+)?(?:bullet|point|list|note|summary|table)[\s-]+(?:form(?:at)?|style)|eli5
    |short\s+and\s+sweet
    |no\s+(?:jargon|fluff|waffle|filler)|without\s+(?:the\s+|any\s+)?(?:jargon|fluff|waffle))"""
# Who or what the summary is for: "for a ten-year-old", "for my boss", "before my exam", "asap".
AUDIENCE = r"""(?:for\s+(?:a|an|my|our|the|your|some)?\s*(?:[\w-]+\s+)?(?:(?:\w+|\d+)[\s-]years?
    [\s-]olds?|kids?|teens?|teenagers?|(?:high\s+)?schoolers?|graders?|readers?|audience|clients?
    |child(?:ren)?|beginners?|newbies?|novices?|dummies|laypeople|non-?experts?|non-?specialists?
    |students?|class(?:mates)?|boss|manager|team|colleagues?|grandma|grandmother|grandpa|mom|mum
    |dad|parents?|executives?|board|ceo|meeting|presentation|exam|test|essay|homework|newsletter
    |slides?|podcast)(?:\s+(?:tomorrow|today|tonight|next\s+week
        |this\s+(?:afternoon|evening|week)))?
    |before\s+(?:my|the|a|our)\s+(?:meeting|exam|test|class|call|interview|flight|presentation
        |lecture)(?:\s+(?:tomorrow|today|tonight))?
    |by\s+(?:tonight|tomorrow|today|noon|(?:the\s+)?end\s+of\s+(?:the\s+)?(?:day|week)|eod|monday
        |tuesday|wednesday|thursday|friday)|asap|a\.s\.a\.p\.?|stat|pronto|right\s+(?:now|away)
    |now|fast|when\s+you\s+(?:can|get\s+a\s+(?:chance
        |sec(?:ond)?|minute|moment))|if\s+you\s+(?:have|get)\s+(?:the\s+)?(?:time|a\s+(?:sec|second
        |minute|moment|chance)))"""
MANNER = rf"""(?:briefly|quickly|concisely|succinctly|in\s+brief|in\s+short|{SUMMARY_IDIOM}
    |(?:very\s+|super\s+|really\s+)?(?:short|brief|concise)|nothing\s+fancy|no\s+frills
    |in\s+a\s+word|in\s+(?:great\s+|more\s+|full\s+|some\s+)?detail|in[\s-]depth|in\s+full
    |at\s+length|thoroughly|comprehensively|with\s+(?:more|lots\s+of|much|some|full|great)\s+
    details?|with\s+details?)"""
POLITE = r"""(?:please|pls|plz|please\s+and\s+thank\s+you|thanks|thank\s+you|thx|ty|cheers
    |for\s+me|for\s+us|with\s+me
    |with\s+us|ideally|preferably|if\s+you\s+(?:can
    |could|would|don'?t\s+mind)|if\s+possible|kindly|real\s+quick|as\s+well|too|also|again
    |instead|thanks\s+in\s+advance|would\s+be\s+(?:great|nice|helpful|appreciated|lovely|good
    |perfect|ideal))"""
KEEP = rf"""(?:(?:but|and)\s+)?(?:keep|make)\s+it\s+(?:short|brief|simple|concise|quick|tight|long
    |detailed|thorough|{UNNAMED_COUNT})(?:\s+(?:and|but)\s+\w+)?"""
# A summary as the result: "to its main points", "into a one-paragraph summary", "to the essentials"
TARGET = rf"""(?:(?:down\s+)?(?:in)?to\s+(?:(?:just|only)\s+)?(?:(?:a|an|the|its|their|his|her
    |some|a\s+few|few|several|one|two|three|four|five|six|seven|eight|nine|ten|\d+)\s+)*
    {ADJECTIVES}(?:{DIGEST}|bare\s+(?:bones|essentials))|down)"""
EDGE = r"[\s,;:.!?\"'\u201c\u201d\u2018\u2019()\u2014\u2013-]"
HINT = rf"(?:{COUNT}|{STYLE}|{AUDIENCE}|{MANNER}|{KEEP}|{TARGET}|{POLITE})"
LEADING_NOISE = re.compile(rf"^{EDGE}*(?:(?:{HINT}|{PREPOSITION}|for)\b)?{EDGE}*", _F)
TRAILING_NOISE = re.compile(rf"{EDGE}*\b{HINT}?{EDGE}*$", _F)

WHEN = r"""(?:today'?s|yesterday'?s|this\s+(?:week|morning|month)'?s|last\s+(?:week|month)'?s
    |latest|recent|new|current|wikipedia|news|all(?:\s+the)?)"""
# "the article about", "today's news on", "the document titled": where the topic is, not what.
DOCUMENT_LEAD = re.compile(
    rf"""^(?:(?:the|this|that|these|those|our|my|your|its|their|some|any)\s+)*(?:{WHEN}\s+)*
    {DOCUMENT}\b(?:\s+(?:about|on|of|regarding|concerning|covering|titled|entitled|called|named
    |describing|discussing|dealing\s+with|related\s+to|for|in)\b|\s*$)\s*""",
    _F,
)
NAMES_DOCUMENT = re.compile(rf"\b(?:{DOCUMENT}|{WHEN})\b", _F)
# "what the documents say about", "everything we know about", "everything on", "what's happening
# with", "the latest on"
SAYING_LEAD = re.compile(
    rf"""^(?:(?:what|everything|all)\s+(?:that\s+)?(?:(?:the|our|my|your|these|those)\s+)?
    (?:{DOCUMENT}\s+)?(?:[\w']+\s+){{0,3}}?(?:about|on|regarding|concerning)\s+
    |(?:what'?s|whats|what\s+is|what\s+has)\s+(?:been\s+)?(?:happening|going\s+on|new|up)
        \s+(?:with|in|on|at|around|about|regarding)\s+
    |(?:the\s+)?latest(?:\s+(?:developments?|updates?))?\s+(?:on|about|with|from|in
        |regarding)\s+)""",
    _F,
)
# "the main points of", "a summary of": a request nested in the topic ("outline the key points of")
DIGEST_LEAD = re.compile(rf"^{DETERMINER}{ADJECTIVES}{DIGEST}\s+{PREPOSITION}\s+", _F)
TRAILING_DOCUMENT = re.compile(rf"\s+{DOCUMENT}$", _F)
ARTICLE = re.compile(r"^(?:the|a|an)\s+", _F)
# "yesterday's port strike coverage": when the documents were written is not what they are about.
TIME_LEAD = re.compile(
    r"""^(?:the\s+)?(?:today'?s|yesterday'?s|tonight'?s|this\s+(?:week|morning|month)'?s
    |last\s+(?:week|month|night)'?s|latest|recent|most\s+recent)\s+""",
    _F,
)
# Words that name no topic: "summarize it", "this article", "the text below", "the documents",
# "your last answer", "what we discussed": the caller knows what they refer to.
VACUOUS = re.compile(
    rf"""^(?:(?:the|this|that|these|those|it|them|all|of|whole|entire|everything|thing|above
    |below|following|here|so\s+far|far|one|conversation|chat|discussion|last|previous|earlier
    |your|you|we|we've|i've|you've|i|me|us|our|my|what|just|said|wrote|discussed|talked|covered
    |mentioned|told|gave|have|has|been|about|up|to|now|answers?|repl(?:y|ies)|responses?
    |{DOCUMENT})\b\s*)*$""",
    _F,
)
POINTER = re.compile(r"\b(?:this|these|that|it|following|above|below|here)\b", _F)

WORDS_OF_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "few": 3, "a few": 3, "some": 3, "several": 4,
    "couple of": 2, "a couple of": 2,
}  # fmt: skip
SHORT = re.compile(
    rf"""\b(?:{TLDR}|tldr|brief(?:ly)?(?!\s+(?:me|us)\b)|short(?:er|en)?|quick(?:ly)?|concise(?:ly)?
    |succinct(?:ly)?|{NUTSHELL}|in\s+short|in\s+a\s+word|one-liner|gist|high-level|bare[\s-]bones
    |cheat\s*sheet|crib\s*sheet|cliff'?s?\s*notes?|cliffsnotes|skinny|\d+-second|tweet)\b""",
    _F,
)
LONG = re.compile(
    r"""\b(?:detail|detailed|long(?:er)?(?!\s+and\s+(?:the\s+)?short)|lengthy|thorough(?:ly)?
    |comprehensive(?:ly)?|in[\s-]depth|full|extensive(?:ly)?|exhaustive(?:ly)?|at\s+length
    |complete)\b""",
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
    """The summary instruction starting ``clause`` (or one of its comma- or dash-separated parts).

    ``after`` is the text following the clause, read only for a focus or length hint ("Summarize
    the Rhine. Focus on pollution.").
    """
    breaks = [m.end() for m in islice(CLAUSE_BREAK.finditer(clause), CLAUSES)]
    for start in [0, *breaks]:
        part = clause[start:].strip()
        if CAPABILITY.match(part):
            return None
        for reading in _readings(_without_opening(part)):
            raw = _topic_text(reading)
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


def _readings(text: str) -> list[str]:
    """``text``, or for "mind giving me ..." its readings with the gerund made a verb ("giv me",
    "give me", "gi me"): the shapes know which one is a verb ("summarize", "recap", "list")."""
    match = GERUND_OPENING.match(text)
    if match is None:
        return [text]
    stem, rest = match["gerund"][:-3], text[match.end() :]
    return [stem + rest, stem + "e" + rest, stem[:-1] + rest]


def _topic_text(part: str) -> str | None:
    """The raw text naming the topic when ``part`` opens with a request shape, else None."""
    skim = SKIM_AND.match(part)
    if skim is not None and _topic_text(_without_opening(skim["then"])) is not None:
        return skim["object"]
    for shape in SHAPES:
        match = shape.match(part)
        if match is not None:
            rest = part[match.end() :]
            if QUESTION_AFTER.search(rest) or _asks_about_content(match, rest, part):
                return None
            found = match.groupdict()
            return found["object"] + " " + rest if found.get("object") else rest
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


def _asks_about_content(match: re.Match[str], rest: str, part: str) -> bool:
    """Whether "what are the main points of X" (or "Main points of X?") asks about X's own
    content rather than for a summary: see :data:`TENET`."""
    found = match.groupdict()
    noun = found.get("noun") or (found.get("nominal") if part.rstrip().endswith("?") else None)
    if noun is None:
        return False
    body = LEADING_PREPOSITION.sub("", rest, count=1)
    if INDEFINITE.match(body):
        return True
    if NAMES_DOCUMENT.search(body):
        return False
    if found.get("past"):
        return True
    head = HEAD_END.split(body, maxsplit=1)[0].split()
    return bool(head) and CONTENT_NOUN.match(noun) is not None and TENET.match(head[-1]) is not None


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
        for lead in (DIGEST_LEAD, SAYING_LEAD, DOCUMENT_LEAD, TIME_LEAD):
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

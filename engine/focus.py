"""Cut each retrieved chunk down to the sentences that bear on the question.

Index chunks are long (up to 256 word pieces) because that suits embedding, but the specialist was
trained on passages of about fifty words (whole sentences, the answer near the start: see
``training.raft.window``). Showing it the ~fifty-word window that best matches the question keeps
serving close to training, and a prompt a third as long makes the first token come much sooner.
"""

from __future__ import annotations

from retrieval.artifacts import bm25_tokens
from specialist.text import sentence_window, sentences


def focus(text: str, question: str, words: int) -> str:
    """The window of whole sentences of about ``words`` words that best matches ``question``.

    The best sentence shares the most distinct (stemmed, stop-word-free) terms with the question,
    the earliest on a tie. Like the training windows, the window starts one sentence before it and
    grows forward to ``words`` words (backward at the end of the text). ``words`` 0 keeps ``text``.
    """
    spans = sentences(text)
    if words <= 0 or len(spans) <= 1 or len(text.split()) <= words:
        return text.strip()
    best, shared = most_shared_terms(question, [text[s:e] for s, e in spans])
    return sentence_window(text, spans, max(0, best - 1) if shared else 0, words)


def most_shared_terms(question: str, texts: list[str]) -> tuple[int, int]:
    """Index of the text sharing most distinct stemmed terms with ``question`` (earliest on a
    tie), and how many it shares: the one "best-matching sentence" rule of the project."""
    asked = set(bm25_tokens([question])[0])
    shared = [len(asked & set(tokens)) for tokens in bm25_tokens(texts)]
    best = max(range(len(texts)), key=lambda i: (shared[i], -i))
    return best, shared[best]

"""``max_tokens`` and ``stop`` of a chat request, applied to the answer as it is delivered.

Both readers honour them the same way: the answer's text ends before the first stop sequence, or
at ``max_tokens`` tokens of the specialist's tokenizer, and ``finish_reason`` says which. The
extractive reader picks its sentence whole, so for it the limits cut the quote; the generating
reader is also told to stop generating (the caller sets its stop event when :attr:`done`). Text that
could be the start of a stop sequence is held back until the next piece shows it is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


def shared_length(text: str, other: str) -> int:
    """How many leading characters ``text`` and ``other`` share.

    Decoding the first ``max_tokens`` tokens gives the start of the answer, but a tokenizer may
    normalize spaces on the way; only what both agree on is kept.
    """
    n = 0
    while n < min(len(text), len(other)) and text[n] == other[n]:
        n += 1
    return n


class Delivery:
    """The part of an answer a client receives, fed piece by piece."""

    def __init__(
        self, tokenizer: PreTrainedTokenizerBase, max_tokens: int | None, stops: Sequence[str]
    ) -> None:
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.stops = [stop for stop in stops if stop]
        self.hold = max((len(stop) - 1 for stop in self.stops), default=0)
        self.raw = ""
        self.text = ""
        self.sent = 0
        self.done = False
        self.finish_reason: Literal["stop", "length"] = "stop"

    def add(self, piece: str) -> str:
        """Take the next piece of the answer; return the text that may be sent now (maybe "")."""
        if self.done:
            return ""
        self.raw += piece
        self.text = self.raw
        ends = [i for i in (self.raw.find(stop) for stop in self.stops) if i >= 0]
        if ends:
            self.text = self.raw[: min(ends)]
            self.done = True
        self._cut_to_max_tokens()
        return self._hand_out(final=self.done)

    def finish(self) -> str:
        """The answer is complete: return what was held back."""
        self.done = True
        return self._hand_out(final=True)

    def _cut_to_max_tokens(self) -> None:
        if self.max_tokens is None:
            return
        ids = self.tokenizer(self.text, add_special_tokens=False).input_ids
        if len(ids) < self.max_tokens:
            return
        if len(ids) > self.max_tokens:
            cut = self.tokenizer.decode(ids[: self.max_tokens]).rstrip("\ufffd")
            self.text = self.text[: shared_length(self.text, cut)]
        self.done = True
        self.finish_reason = "length"

    def _hand_out(self, final: bool) -> str:
        end = len(self.text) if final else max(self.sent, len(self.text) - self.hold)
        piece = self.text[self.sent : end]
        self.sent = max(self.sent, end)
        return piece

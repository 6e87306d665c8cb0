"""The ONE prompt template, used by training, evaluation and the ``/ask`` service alike.

A fine-tuned adapter only works if it sees at serving time exactly the text layout it was trained
on, so nothing else in the project may format prompts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

SYSTEM = (
    "You are a careful assistant. You summarize faithfully and answer only from the text you are "
    "given, citing passages as [n]."
)
NO_ANSWER = "The documents do not say."

SUMMARY_INSTRUCTION = "Summarize the following text in one or two sentences."
SUMMARY_LENGTHS = {
    "short": SUMMARY_INSTRUCTION,
    "medium": "Summarize the following text in three to five sentences.",
    "long": "Summarize the following text in a paragraph of up to ten sentences.",
}
"""The instruction per summary length; ``short`` is the one the adapter's examples are built with."""
RAG_INSTRUCTION = (
    "Answer the question in one or two sentences using only the passages above, and cite the "
    f'passage you used as [n]. If no passage answers it, reply exactly: "{NO_ANSWER}"'
)
CLOSED_BOOK_INSTRUCTION = "Answer the question in one or two sentences."


@dataclass(frozen=True)
class PromptPassage:
    """A retrieved passage as the model sees it; ``n`` is the number it cites as ``[n]``."""

    n: int
    text: str
    title: str = ""
    heading: str = ""


@dataclass(frozen=True)
class Turn:
    """One earlier message of a conversation, shown to the model before the current request."""

    role: Literal["user", "assistant"]
    content: str


def summary_request(document: str, length: str = "short", focus: str | None = None) -> str:
    """User turn asking for a summary of ``document`` (of ``length``, about ``focus`` if given)."""
    instruction = SUMMARY_LENGTHS[length]
    if focus:
        instruction = f"{instruction} Focus on {focus.strip().rstrip('.')}."
    return f"{instruction}\n\n{document.strip()}"


def closed_book_request(question: str) -> str:
    """User turn asking a question with no passages: the "no retrieval" systems of ``eval all``."""
    return f"Question: {question.strip()}\n\n{CLOSED_BOOK_INSTRUCTION}"


def rag_request(question: str, passages: Sequence[PromptPassage]) -> str:
    """User turn holding numbered passages followed by the question."""
    blocks = []
    for passage in passages:
        label = " > ".join(part for part in (passage.title, passage.heading) if part)
        header = f"[{passage.n}] ({label})" if label else f"[{passage.n}]"
        blocks.append(f"{header} {passage.text.strip()}")
    context = "\n\n".join(blocks) if blocks else "(no passages)"
    return f"Passages:\n{context}\n\nQuestion: {question.strip()}\n\n{RAG_INSTRUCTION}"


def render(tokenizer: PreTrainedTokenizerBase, request: str, history: Sequence[Turn] = ()) -> str:
    """Full prompt text for a user request, ending where the model's answer starts.

    ``history`` (earlier turns of a conversation, oldest first) goes between the system message
    and the request, so the model reads a follow-up the way a chat model is trained to. Models
    with a chat template (SmolLM2-Instruct) get it; base models without one (Gemma 3 270M) get a
    plain layout with the same content.
    """
    if tokenizer.chat_template:
        messages = [
            {"role": "system", "content": SYSTEM},
            *({"role": turn.role, "content": turn.content} for turn in history),
            {"role": "user", "content": request},
        ]
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    earlier = "".join(f"{turn.role.capitalize()}: {turn.content}\n\n" for turn in history)
    return f"{SYSTEM}\n\n{earlier}{request}\n\nAnswer: "


def completion_end(tokenizer: PreTrainedTokenizerBase) -> str:
    """Text appended to a training completion so the model learns where to stop."""
    return tokenizer.eos_token or ""

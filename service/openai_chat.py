"""A chat completion request read as the pipeline needs it, and the answer framed for OpenAI clients.

The conversation's user and assistant messages become the history and the last user message the
question (system, developer and tool messages are left out: the service's own prompt and reader
decide how to answer from the documents, and a client's instructions must not change what is
quoted). Parameters the service cannot honour are refused with 400 naming them, never ignored
silently: ``temperature`` above 0 (answers are greedy, the extractive reader has nothing to
sample), ``n`` above 1, content parts other than text.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.answering import cited_numbers
from engine.schemas import AskResponse, Citation
from engine.summaries import message_limit
from service.openai_errors import OpenAIError
from service.openai_schemas import (
    MAX_STOP_SEQUENCES,
    AnswerMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatMessage,
    Choice,
    ChunkChoice,
    Delta,
    Usage,
)
from specialist.prompt import Turn
from specialist.settings import Settings

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from service.delivery import Delivery


@dataclass(frozen=True)
class ChatAsk:
    """What a chat request asks: the question after its history, and how to deliver the answer."""

    history: list[Turn]
    question: str
    max_new_tokens: int
    max_tokens: int | None
    stops: list[str] = field(default_factory=list)


def unsupported(param: str, message: str) -> OpenAIError:
    """400 for a parameter value this service does not support."""
    return OpenAIError(400, f"{param}: {message}", param=param, code="unsupported_value")


def invalid(param: str, message: str) -> OpenAIError:
    """422 for a value that breaks a limit of this service."""
    return OpenAIError(422, f"{param}: {message}", param=param, code="invalid_value")


def message_text(message: ChatMessage, param: str) -> str:
    """The text of a message (its text parts joined); 400 for image, audio or file parts."""
    if message.content is None or isinstance(message.content, str):
        return message.content or ""
    kinds = {part.type for part in message.content} - {"text"}
    if kinds:
        raise unsupported(param, f"only text content parts are supported (got {sorted(kinds)})")
    return "\n".join(part.text or "" for part in message.content)


def read_request(body: ChatCompletionRequest, settings: Settings) -> ChatAsk:
    """Check ``body`` against what the service supports and its limits; 400/422 otherwise."""
    if body.temperature:
        raise unsupported(
            "temperature",
            "only 0 is supported: answers are greedy (the same question gets the same answer)",
        )
    if body.n not in (None, 1):
        raise unsupported("n", "only 1 answer per request is supported")
    turns = [
        Turn(m.role, message_text(m, f"messages.{i}.content"))
        for i, m in enumerate(body.messages)
        if m.role in ("user", "assistant")
    ]
    if not turns or turns[-1].role != "user":
        raise invalid("messages", "the last user or assistant message must be the user's question")
    question = turns[-1].content.strip()
    if not question:
        raise invalid("messages", "the last user message is blank")
    most = message_limit(question, settings.max_question_chars, settings.max_summary_chars)
    if len(question) > most:
        raise invalid(
            "messages", f"the question is at most {most} characters (got {len(question)})"
        )
    limit = settings.max_new_tokens_limit
    max_tokens = body.max_completion_tokens or body.max_tokens
    if max_tokens is not None and max_tokens > limit:
        param = "max_completion_tokens" if body.max_completion_tokens else "max_tokens"
        raise invalid(param, f"at most {limit} (got {max_tokens})")
    stops = [body.stop] if isinstance(body.stop, str) else list(body.stop or [])
    if len(stops) > MAX_STOP_SEQUENCES:
        raise invalid("stop", f"at most {MAX_STOP_SEQUENCES} sequences (got {len(stops)})")
    return ChatAsk(
        history=turns[:-1],
        question=question,
        max_new_tokens=max_tokens or min(settings.default_max_new_tokens, limit),
        max_tokens=max_tokens,
        stops=stops,
    )


def cited(sources: Sequence[Citation], text: str) -> list[Citation]:
    """The sources whose ``[n]`` the delivered text still holds (a cut answer may lose some)."""
    used = set(cited_numbers(text))
    return [source for source in sources if source.n in used]


class Framing:
    """The OpenAI envelope of one answer: id, creation time, model, token counts."""

    def __init__(
        self, model: str, tokenizer: PreTrainedTokenizerBase, ask: ChatAsk, system_fingerprint: str
    ) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = model
        self.tokenizer = tokenizer
        self.system_fingerprint = system_fingerprint
        asked = [turn.content for turn in ask.history] + [ask.question]
        self.prompt_tokens = sum(self.count(text) for text in asked)

    def count(self, text: str) -> int:
        """Tokens of ``text`` for ``usage``."""
        return len(self.tokenizer(text, add_special_tokens=False).input_ids)

    def usage(self, delivery: Delivery) -> Usage:
        """Tokens of the messages and of the delivered answer."""
        completion = self.count(delivery.text)
        return Usage(
            prompt_tokens=self.prompt_tokens,
            completion_tokens=completion,
            total_tokens=self.prompt_tokens + completion,
        )

    def completion(self, response: AskResponse, delivery: Delivery) -> ChatCompletion:
        """The whole answer as one chat completion."""
        message = AnswerMessage(
            content=delivery.text, sources=cited(response.citations, delivery.text)
        )
        return ChatCompletion(
            id=self.id,
            created=self.created,
            model=self.model,
            system_fingerprint=self.system_fingerprint,
            choices=[Choice(message=message, finish_reason=delivery.finish_reason)],
            usage=self.usage(delivery),
        )

    def chunk(
        self,
        delta: Delta | None,
        finish_reason: str | None = None,
        usage: Usage | None = None,
    ) -> ChatCompletionChunk:
        """One chunk: a step of the answer, its end (with ``finish_reason``), or the usage alone."""
        choices = [] if delta is None else [ChunkChoice(delta=delta, finish_reason=finish_reason)]
        return ChatCompletionChunk(
            id=self.id,
            created=self.created,
            model=self.model,
            system_fingerprint=self.system_fingerprint,
            choices=choices,
            usage=usage,
        )


def fingerprint(adapter_version: str | None, index_version: str) -> str:
    """Which adapter and index versions answer (OpenAI's ``system_fingerprint``)."""
    return f"adapter-{adapter_version or 'none'}/index-{index_version}"

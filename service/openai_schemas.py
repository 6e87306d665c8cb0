"""Request and response bodies of the OpenAI-compatible API (``/v1/...``).

Requests ignore fields they do not know, as OpenAI-compatible servers do, so clients that send
``user``, ``seed``, ``tools`` or next year's parameters keep working. Responses have OpenAI's shape
plus one extension: ``sources``, the passages the answer cites, the same
:class:`engine.schemas.Citation` objects ``POST /ask`` returns.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.schemas import Citation

MAX_STOP_SEQUENCES = 4
MAX_EMBEDDING_INPUTS = 256


class Lenient(BaseModel):
    """A request part that ignores unknown fields."""

    model_config = ConfigDict(extra="ignore")


class ContentPart(Lenient):
    """One part of a message's content; only ``text`` parts can be answered."""

    type: str
    text: str | None = None


class ChatMessage(Lenient):
    """One message of the conversation sent by the client."""

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None


class StreamOptions(Lenient):
    """Options of a streamed answer."""

    include_usage: bool | None = Field(
        default=None, description="Send one more chunk with the token usage before `[DONE]`."
    )


class ChatCompletionRequest(Lenient):
    """``POST /v1/chat/completions``. System messages are not used: the answer is grounded by the
    service's own prompt and reader, and a client's instructions must not change what it quotes."""

    model: str = Field(description="`specialist`, the base model or an adapter version.")
    messages: list[ChatMessage] = Field(min_length=1, description="The conversation, oldest first.")
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(
        default=None, ge=1, description="Wins over max_tokens."
    )
    stop: str | list[str] | None = Field(
        default=None, description=f"Up to {MAX_STOP_SEQUENCES} sequences that end the answer."
    )
    temperature: float | None = Field(
        default=None, ge=0, le=2, description="Only 0 (or unset): answers are greedy."
    )
    n: int | None = Field(default=None, ge=1, description="Only 1.")


class Usage(BaseModel):
    """Tokens of the request's messages and of the answer, counted by the specialist's tokenizer."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AnswerMessage(BaseModel):
    """The assistant's message, with the passages it cites."""

    role: Literal["assistant"] = "assistant"
    content: str
    refusal: None = None
    sources: list[Citation] = Field(
        description="Extension: the passages the answer's [n] markers point at, as in /ask."
    )


class Choice(BaseModel):
    """The one answer of a completion."""

    index: int = 0
    message: AnswerMessage
    finish_reason: Literal["stop", "length"]
    logprobs: None = None


class Envelope(BaseModel):
    """What every completion object carries around its answer."""

    id: str
    created: int
    model: str
    system_fingerprint: str = Field(description="The adapter and index versions that answered.")


class ChatCompletion(Envelope):
    """A whole answer."""

    object: Literal["chat.completion"] = "chat.completion"
    choices: list[Choice]
    usage: Usage


class Delta(BaseModel):
    """What a chunk adds to the answer; the last one carries the sources."""

    role: Literal["assistant"] | None = None
    content: str | None = None
    sources: list[Citation] | None = Field(
        default=None, description="Extension, in the chunk with the finish_reason."
    )


class ChunkChoice(BaseModel):
    """One streamed step of the answer."""

    index: int = 0
    delta: Delta
    finish_reason: Literal["stop", "length"] | None = None
    logprobs: None = None


class ChatCompletionChunk(Envelope):
    """One server-sent event of a streamed answer."""

    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    choices: list[ChunkChoice]
    usage: Usage | None = None


class ModelCard(BaseModel):
    """One model of ``GET /v1/models``; ``parent`` is the base an adapter applies to."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str
    root: str | None = None
    parent: str | None = None


class ModelList(BaseModel):
    """``GET /v1/models``."""

    object: Literal["list"] = "list"
    data: list[ModelCard]


class EmbeddingRequest(Lenient):
    """``POST /v1/embeddings``: text in, one vector per input."""

    model: str
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] | None = "float"
    dimensions: int | None = Field(default=None, ge=1)


class Embedding(BaseModel):
    """One input's vector: floats, or base64 of little-endian float32 when asked."""

    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class EmbeddingUsage(BaseModel):
    """Word pieces the embedder read."""

    prompt_tokens: int
    total_tokens: int


class EmbeddingList(BaseModel):
    """``POST /v1/embeddings``."""

    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage

"""The one settings object, read from ``SPECIALIST_*`` environment variables (and ``.env``).

Every component receives a :class:`Settings` instead of reading the environment itself, so that a
bad value is reported once, at start-up, in one sentence.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from specialist.errors import UserError
from specialist.hardware import resolve_dtype

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The source checkout this package was imported from (holds ``corpora/`` and ``adapters/``)."""

BASE_MODEL_NAMES = ("smollm2-135m", "gemma3-270m")


def _default_home() -> Path:
    """Inside the checkout when run from one (``make run``), else the user's data directory."""
    if (PROJECT_ROOT / "pyproject.toml").is_file():
        return PROJECT_ROOT / ".specialist"
    import platformdirs

    return platformdirs.user_data_path("specialist")


class Settings(BaseSettings):
    """Runtime configuration; each field maps to ``SPECIALIST_<FIELD>``."""

    model_config = SettingsConfigDict(
        env_prefix="SPECIALIST_", env_file=".env", extra="ignore", frozen=True
    )

    home: Path = Field(
        default_factory=_default_home,
        description="Folder for the model cache, index versions and adapter versions.",
    )
    base_model: str = Field(
        default="smollm2-135m",
        description=f"Specialist base model, one of: {', '.join(BASE_MODEL_NAMES)}.",
    )
    dtype: Literal["float32", "bfloat16"] = Field(
        default="float32",
        description="Dtype of a bare base-model load (the benches); serving uses serve_dtype.",
    )
    threads: int = Field(
        default_factory=lambda: min(2, os.cpu_count() or 1),
        ge=1,
        le=256,
        description="torch intra-op threads for generation and training.",
    )
    docs_dirs: list[Path] = Field(
        default_factory=lambda: [PROJECT_ROOT / "corpora" / "xquad"],
        description="Document roots that may be indexed; the first is indexed by default.",
    )
    host: str = Field(default="127.0.0.1", description="Address the HTTP service binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port of the HTTP service.")
    api_key: str | None = Field(
        default=None,
        description="When set, every route but /health, /ready and the page at / needs it.",
    )

    # retrieval (issue 3)
    chunk_tokens: int = Field(
        default=256,
        ge=32,
        le=512,
        description="Most word pieces one chunk embeds, title, heading and special tokens included.",
    )
    chunk_overlap: int = Field(
        default=32,
        ge=0,
        le=256,
        description="Word pieces shared by neighbouring chunks (at most half a chunk is used).",
    )
    max_file_mb: float = Field(
        default=20.0, gt=0, description="Files above this size are skipped by the indexer."
    )
    follow_links: bool = Field(
        default=False,
        description="Index the targets of symbolic links inside a document root (targets outside "
        "the root are refused either way); off: links are skipped and reported.",
    )
    index_keep_versions: int = Field(
        default=3, ge=1, le=100, description="Index versions kept on disk (older ones are pruned)."
    )
    embed_batch_size: int = Field(
        default=32, ge=1, le=1024, description="Chunks embedded per forward pass."
    )
    rrf_k: int = Field(
        default=10, ge=1, description="Reciprocal rank fusion constant k (tuned on SciFact train)."
    )
    dense_weight: float = Field(default=1.0, ge=0, description="Weight of dense ranks in fusion.")
    bm25_weight: float = Field(default=1.0, ge=0, description="Weight of BM25 ranks in fusion.")
    bm25_k1: float = Field(default=0.9, gt=0, description="BM25 term-frequency saturation k1.")
    bm25_b: float = Field(default=0.4, ge=0, le=1, description="BM25 length normalization b.")
    fusion_depth: int = Field(
        default=100, ge=1, description="Candidates each retriever contributes to fusion."
    )
    hnsw_above: int = Field(
        default=200_000,
        ge=1,
        description="Chunk count above which the dense index is HNSW instead of exact search.",
    )
    # Service limits and serving performance (issue 5).
    max_question_chars: int = Field(
        default=2000, ge=1, le=100_000, description="Longest question /ask accepts."
    )
    max_body_bytes: int = Field(
        default=16_384, ge=256, le=10_000_000, description="Largest request body the service reads."
    )
    max_document_bytes: int = Field(
        default=1_000_000,
        ge=256,
        le=100_000_000,
        description="Largest request body of the routes that take pasted documents "
        "(/summarize, /v1/chat/completions).",
    )
    max_summary_chars: int = Field(
        default=200_000,
        ge=1,
        le=10_000_000,
        description="Longest pasted text /summarize (or a chat message asking for a summary) takes.",
    )
    max_new_tokens_limit: int = Field(
        default=256, ge=1, le=4096, description="Upper bound for max_new_tokens in /ask."
    )
    default_max_new_tokens: int = Field(
        default=96, ge=1, le=4096, description="max_new_tokens when a request gives none."
    )
    generation_workers: int = Field(
        default=2,
        ge=1,
        le=64,
        description="Answers generated at the same time; SPECIALIST_THREADS is split among the "
        "answers running (a lone answer uses them all).",
    )
    generation_queue: int = Field(
        default=4, ge=0, le=1024, description="Requests allowed to wait; beyond it /ask gets 503."
    )
    passage_words: int = Field(
        default=50,
        ge=0,
        le=10_000,
        description="Words of each retrieved chunk shown to the specialist: the sentence window "
        "that best matches the question, as long as its training passages (0 keeps whole chunks).",
    )
    prompt_token_budget: int = Field(
        default=640, ge=64, le=32_768, description="Most passage tokens put into one prompt."
    )
    min_relevance: float = Field(
        default=0.25,
        ge=-1.0,
        le=1.0,
        description="With reader 'generate': cosine similarity the best passage needs, else the "
        "answer is 'not covered' (the 'extract' reader has a fitted decline threshold instead).",
    )
    reader: Literal["extract", "generate"] = Field(
        default="extract",
        description="How an answer is written: 'extract' answers with the retrieved sentence a "
        "fitted scorer finds most likely to hold the answer, and declines when none is likely "
        "enough; 'generate' has the specialist write it from the focused passages.",
    )
    reader_weights: Path | None = Field(
        default=None,
        description="Weights of the 'extract' reader from `specialist train-reader` "
        "(default: the shipped engine/reader.json).",
    )
    serve_dtype: Literal["auto", "float32", "bfloat16"] = Field(
        default="auto",
        description="Weights dtype of the served (merged) specialist; 'auto' is bfloat16 on CPUs "
        "with native bfloat16 arithmetic (AVX512-BF16, AMX) and float32 elsewhere.",
    )
    watch: bool = Field(
        default=False, description="Reindex the first document root when its files change."
    )
    engine: Literal["local", "llama-cpp", "openai"] = Field(
        default="local",
        description="Where answers are generated: 'local' runs the specialist with transformers "
        "in this process; 'llama-cpp' runs it in this process on llama.cpp, the adapter folded "
        "into a GGUF copy, with concurrent answers decoded in one batch; 'openai' sends each "
        "prompt to an OpenAI-compatible engine at engine_url (vLLM, llama.cpp's servers), which "
        "serves the adapter versions under their version names.",
    )
    engine_weights: Literal["q8_0", "f16", "f32"] = Field(
        default="q8_0",
        description="With engine 'llama-cpp': the type the merged weights are stored in.",
    )
    engine_slots: int = Field(
        default=4,
        ge=1,
        le=64,
        description="With engine 'llama-cpp': answers decoded together in one batch (more wait).",
    )
    prefill_chunk: int = Field(
        default=128,
        ge=8,
        le=4096,
        description="With engine 'llama-cpp': most prompt tokens fed per step next to the running "
        "answers, which bounds how long a newcomer's prompt stalls them.",
    )
    engine_url: str | None = Field(
        default=None,
        validate_default=True,
        description="Base URL of the OpenAI-compatible engine, e.g. http://engine:8080/v1 "
        "(required with engine 'openai').",
    )
    engine_key: str | None = Field(
        default=None, description="Bearer key the engine expects, if any."
    )
    engine_timeout: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="Seconds to wait for the engine to connect or send the next piece of text; "
        "beyond it the request fails with 503 and Retry-After.",
    )

    @field_validator("engine_url")
    @classmethod
    def _engine_has_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("engine") == "openai" and not value:
            raise ValueError("engine 'openai' needs the engine's URL, e.g. http://host:8080/v1")
        return value.rstrip("/") if value else value

    @field_validator("base_model")
    @classmethod
    def _known_base_model(cls, value: str) -> str:
        if value not in BASE_MODEL_NAMES:
            raise ValueError(
                f"unknown base model {value!r}; valid choices: {', '.join(BASE_MODEL_NAMES)}"
            )
        return value

    @field_validator("serve_dtype", mode="after")
    @classmethod
    def _machine_dtype(cls, value: str) -> str:
        return resolve_dtype(value)

    @field_validator("home", mode="after")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @cached_property
    def cache_dir(self) -> Path:
        """Converted model copies (safetensors) and assembled GGUF files."""
        return self.home / "cache"

    @cached_property
    def indexes_dir(self) -> Path:
        """Versioned retrieval indexes."""
        return self.home / "indexes"

    @cached_property
    def adapters_dir(self) -> Path:
        """Versioned LoRA adapters."""
        return self.home / "adapters"


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, turning validation errors into one :class:`UserError`."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"SPECIALIST_{'_'.join(str(p) for p in err['loc']).upper()}: {_clean(err['msg'])}"
            for err in exc.errors()
        )
        raise UserError(f"invalid settings: {problems}") from None


def _clean(message: str) -> str:
    return message.removeprefix("Value error, ")

"""The one settings object, read from ``SPECIALIST_*`` environment variables (and ``.env``).

Every component receives a :class:`Settings` instead of reading the environment itself, so that a
bad value is reported once, at start-up, in one sentence.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from specialist.errors import UserError

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
        default="float32", description="Weights dtype for generation."
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
        default=None, description="When set, every route but /health and /ready needs it."
    )

    @field_validator("base_model")
    @classmethod
    def _known_base_model(cls, value: str) -> str:
        if value not in BASE_MODEL_NAMES:
            raise ValueError(
                f"unknown base model {value!r}; valid choices: {', '.join(BASE_MODEL_NAMES)}"
            )
        return value

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

"""Generation on a remote OpenAI-compatible engine (vLLM, llama.cpp's servers) instead of in-process.

With ``SPECIALIST_ENGINE=openai`` the service keeps everything that makes an answer grounded
(retrieval, the prompt template, focusing, the reader, citations, declining) and sends only model
work to the engine: the rendered prompt to ``POST /v1/completions`` (greedy, streamed), and the
judge's question likelihoods as echoed prompt log-probabilities. Only the tokenizer is loaded
here, to count the prompt's tokens.

Each adapter version is served under its version name and the bare base model under
:data:`BASE_NAME`. Before a version is first used it is made available on the engine:

- already listed by ``GET /v1/models`` (llama.cpp's servers list what their configuration or
  ``--lora`` options name; see ``specialist engine-config``): nothing to do;
- otherwise ``POST /v1/load_lora_adapter`` with the adapter's folder (vLLM started with
  ``--enable-lora`` and ``VLLM_ALLOW_RUNTIME_LORA_UPDATING=True``; the folder must be readable by
  the engine at the same path, i.e. the engine mounts the shared home too).

An engine that cannot be reached, times out or answers 5xx makes the request fail with
:class:`EngineUnavailableError` (HTTP 503 with ``Retry-After``) and ``/ready`` false; nothing is
cached about the failure, so the next request after the engine is back succeeds, with no restart.
A model the engine no longer knows (it restarted and lost its runtime adapters) is loaded again.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

from engine.generate import ParagraphText
from specialist.errors import UserError

BASE_NAME = "base"
"""The engine's name for the base model with no adapter (vLLM: ``--served-model-name base``)."""
PROBE_SECONDS = 2.0
"""How long ``/ready`` waits for the engine to list its models."""


class EngineUnavailableError(UserError):
    """The engine cannot answer right now (HTTP 503 with ``Retry-After``)."""

    retry_after = 5


class EngineRefusedError(UserError):
    """The engine answered, but refuses what was asked (an adapter it cannot load)."""


def model_name(version: str | None) -> str:
    """The name adapter ``version`` (None: the base model) is served under on the engine."""
    return version or BASE_NAME


@dataclass
class RemoteEngine:
    """A client for one OpenAI-compatible engine, shared by every request of the process."""

    url: str
    key: str | None = None
    timeout: float = 30.0
    _known: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _client: httpx.Client | None = None

    @property
    def client(self) -> httpx.Client:
        """One pooled HTTP client (thread-safe), created on first use."""
        with self._lock:
            if self._client is None:
                headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
                self._client = httpx.Client(
                    base_url=self.url, headers=headers, timeout=httpx.Timeout(self.timeout)
                )
            return self._client

    def _unavailable(self, exc: Exception | str) -> EngineUnavailableError:
        detail = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
        return EngineUnavailableError(
            f"the generation engine at {self.url} is unavailable ({detail})"
        )

    def served(self, timeout: float | None = None) -> set[str]:
        """The model names the engine serves now (``GET /v1/models``)."""
        try:
            reply = self.client.get("/models", timeout=timeout or self.timeout)
        except httpx.HTTPError as exc:
            raise self._unavailable(exc) from None
        if reply.status_code != 200:
            raise self._unavailable(f"GET /models answered {reply.status_code}")
        return {row["id"] for row in reply.json().get("data", [])}

    def available(self) -> str | None:
        """None when the engine lists its models within :data:`PROBE_SECONDS`, else why not."""
        try:
            self.served(PROBE_SECONDS)
        except EngineUnavailableError as exc:
            return str(exc)
        return None

    def prepare(self, version: str | None, folder: Path | None) -> str:
        """Make adapter ``version`` (stored in ``folder``) servable; return its name on the engine."""
        name = model_name(version)
        if name in self._known:
            return name
        served = self.served()
        if name not in served:
            if folder is None:
                raise EngineRefusedError(
                    f"the engine at {self.url} serves no model named {name!r} "
                    f"(it serves: {', '.join(sorted(served)) or 'nothing'})"
                )
            self._load_adapter(name, folder)
        self._known.add(name)
        return name

    def _load_adapter(self, name: str, folder: Path) -> None:
        """vLLM's runtime LoRA loading; an engine without it is told how to serve the adapter."""
        try:
            reply = self.client.post(
                "/load_lora_adapter", json={"lora_name": name, "lora_path": str(folder)}
            )
        except httpx.HTTPError as exc:
            raise self._unavailable(exc) from None
        if reply.status_code >= 500:
            raise self._unavailable(f"loading adapter {name} answered {reply.status_code}")
        if reply.status_code in (404, 405):
            raise EngineRefusedError(
                f"the engine at {self.url} does not serve adapter {name} and cannot load adapters "
                "at run time; for llama.cpp, write its configuration again with "
                "`specialist engine-config` and restart it"
            )
        if reply.status_code != 200 and "already" not in reply.text:
            raise EngineRefusedError(
                f"the engine at {self.url} refused adapter {name}: {reply.text[:300]}"
            )

    def forget(self, name: str) -> None:
        """Check again before the next use that the engine serves ``name`` (it may have restarted)."""
        self._known.discard(name)

    def complete(self, body: dict[str, object]) -> dict[str, object]:
        """One non-streamed ``POST /completions``."""
        try:
            reply = self.client.post("/completions", json=body)
        except httpx.HTTPError as exc:
            raise self._unavailable(exc) from None
        self._check(reply, str(body["model"]))
        return reply.json()

    def stream(self, body: dict[str, object], stop: threading.Event | None = None) -> Iterator[str]:
        """The text pieces of a streamed ``POST /completions``; closing the stream cancels it."""
        try:
            with self.client.stream("POST", "/completions", json={**body, "stream": True}) as reply:
                if reply.status_code != 200:
                    reply.read()
                    self._check(reply, str(body["model"]))
                for line in reply.iter_lines():
                    if stop is not None and stop.is_set():
                        return
                    if not line.startswith("data:"):
                        continue
                    data = line.removeprefix("data:").strip()
                    if data == "[DONE]":
                        return
                    choices = json.loads(data).get("choices") or [{}]
                    yield choices[0].get("text") or ""
        except httpx.HTTPError as exc:
            raise self._unavailable(exc) from None

    def _check(self, reply: httpx.Response, model: str) -> None:
        if reply.status_code == 200:
            return
        if reply.status_code >= 500 or reply.status_code == 429:
            raise self._unavailable(f"it answered {reply.status_code}")
        if reply.status_code == 404:
            self.forget(model)
            raise self._unavailable(f"it no longer serves {model!r}; it is loaded again next time")
        raise UserError(f"the generation engine refused the request: {reply.text[:300]}")


@dataclass(frozen=True)
class RemoteModel:
    """One adapter version as served by the engine: what a local model does, over HTTP."""

    engine: RemoteEngine
    version: str | None
    folder: Path | None

    def prepare(self) -> str:
        """Make this version servable on the engine (once per process); return its model name."""
        return self.engine.prepare(self.version, self.folder)

    def stream(
        self, prompt: str, max_new_tokens: int, stop: threading.Event | None = None
    ) -> Iterator[str]:
        """Greedy continuation of ``prompt``, piece by piece, ended by the local stop rule."""
        body = {
            "model": self.prepare(),
            "prompt": prompt,
            "max_tokens": max_new_tokens,
            "temperature": 0.0,
            "top_p": 1.0,
        }
        text = ParagraphText()
        so_far = ""
        for piece in self.engine.stream(body, stop):
            so_far += piece
            new = text.update(so_far)
            if new:
                yield new
            if text.done:
                return
        rest = text.finish()
        if rest:
            yield rest

    def continuation_log_probability(
        self, prefixes: Sequence[str], continuation: str
    ) -> np.ndarray:
        """``log P(continuation | prefix)`` per continuation token, one value per prefix.

        The engine echoes each whole text with its tokens' log-probabilities; the tokens that start
        at or after the end of the prefix are the continuation's.
        """
        name = self.prepare()
        scores = []
        for prefix in prefixes:
            reply = self.engine.complete(
                {
                    "model": name,
                    "prompt": prefix + continuation,
                    "max_tokens": 1,
                    "temperature": 0.0,
                    "echo": True,
                    "logprobs": 0,
                }
            )
            logprobs = reply["choices"][0]["logprobs"]  # type: ignore[index]
            end = len(prefix + continuation)
            values = [
                value
                for offset, value in zip(
                    logprobs["text_offset"], logprobs["token_logprobs"], strict=True
                )
                if len(prefix) <= offset < end and value is not None
            ]
            scores.append(float(np.mean(values)) if values else 0.0)
        return np.asarray(scores, dtype=np.float64)


_engines: dict[tuple[str, str | None, float], RemoteEngine] = {}
_engines_lock = threading.Lock()


def remote_engine(url: str, key: str | None, timeout: float) -> RemoteEngine:
    """The process's one client for the engine at ``url`` (its adapter knowledge is shared)."""
    with _engines_lock:
        return _engines.setdefault((url, key, timeout), RemoteEngine(url, key, timeout))

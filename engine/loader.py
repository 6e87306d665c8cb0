"""The one way to load the specialist that answers: base model + adapter, in the serving dtype.

The service, ``specialist ask --local``, every ``specialist eval`` command and the ask bench load
through :func:`load_specialist`, so an evaluation scores exactly the weights users are served. The
adapter is merged in float32 and only then cast to ``settings.serve_dtype``: merging in bfloat16
would round the LoRA update away, while bfloat16 weights make every generated token cheaper on
CPUs with native bf16 support. Which adapters exist, and where, is the registry's business
(``specialist.adapters``); training builds a trainable model its own way and is not a serving load.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.batched import BatchedEngine
from engine.generate import AnswerText, generate_batch, stream_tokens
from engine.gguf_merged import merged_gguf
from engine.remote import RemoteModel, remote_engine
from engine.selfcheck import check_gguf
from specialist.adapters import ADAPTER_WEIGHTS, AdapterRegistry, adapter_problem
from specialist.errors import UserError
from specialist.settings import Settings

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass
class Specialist:
    """The model answers are generated with: the base model with one adapter applied (or none).

    With a remote engine (``SPECIALIST_ENGINE=openai``) there are no local weights: ``model`` is
    None and ``remote`` generates; the tokenizer is still local, to budget the prompt. With the
    in-process llama.cpp engine (``llama-cpp``), ``batched`` generates and ``model`` is None too.
    """

    model: PreTrainedModel | None
    tokenizer: PreTrainedTokenizerBase
    base_model: str
    adapter_version: str | None
    remote: RemoteModel | None = None
    batched: BatchedEngine | None = None

    def stream(
        self, prompt: str, max_new_tokens: int, stop: threading.Event | None = None
    ) -> Iterator[str]:
        """The greedy answer to ``prompt``, piece by piece, wherever the model runs."""
        if self.remote is not None:
            return self.remote.stream(prompt, max_new_tokens, stop)
        if self.batched is not None:
            return self._stream_batched(prompt, max_new_tokens, stop)
        assert self.model is not None, "a local specialist has weights"
        return stream_tokens(self.model, self.tokenizer, prompt, max_new_tokens, stop)

    def _stream_batched(
        self, prompt: str, max_new_tokens: int, stop: threading.Event | None
    ) -> Iterator[str]:
        """The llama.cpp engine's tokens as text, cut by the same stop rule as local decoding."""
        assert self.batched is not None
        ids = self.tokenizer(prompt, add_special_tokens=False).input_ids
        answer = AnswerText(self.tokenizer, set(self.batched.end_ids))
        tokens = self.batched.generate(ids, max_new_tokens, stop)
        try:
            for token in tokens:
                if piece := answer.add(token):
                    yield piece
                if answer.done:
                    return
            if piece := answer.finish():
                yield piece
        finally:
            tokens.close()

    def generate_batch(self, prompts: Sequence[str], max_new_tokens: int) -> list[str]:
        """The whole greedy answer to each prompt: batched in-process (transformers' padded batch,
        or the llama.cpp engine's running batch), one by one on a remote engine."""
        if self.remote is not None:
            return ["".join(self.stream(prompt, max_new_tokens)).strip() for prompt in prompts]
        if self.batched is not None:  # one caller per prompt: they meet in the engine's batches
            with ThreadPoolExecutor(max(1, min(len(prompts), 2 * self.batched.slots))) as pool:
                return list(
                    pool.map(lambda p: "".join(self.stream(p, max_new_tokens)).strip(), prompts)
                )
        assert self.model is not None, "a local specialist has weights"
        return generate_batch(self.model, self.tokenizer, prompts, max_new_tokens)

    def retire(self) -> None:
        """This specialist was replaced: release what it holds once its answers are done."""
        if self.batched is not None:
            self.batched.retire()


def load_specialist(
    settings: Settings, version: str | None = None, *, adapter: bool = True, merge: bool = True
) -> Specialist:
    """The base model with adapter ``version`` (default: the current one), in the serving dtype.

    With no adapter in the registry, or with ``adapter=False`` (the evaluations' baseline), it is
    the base model alone, with ``adapter_version=None``. ``merge=False`` keeps the LoRA layers
    apart instead of folding them into the base weights (the ask bench measures what merging saves).
    With a remote engine only the tokenizer is loaded, and the engine is not contacted here.
    """
    import torch

    from specialist.models import load_base_model, load_tokenizer

    folder = None
    if adapter:
        registry = AdapterRegistry(settings)
        version = version or registry.current()
        if version is not None:
            registry.check_base_model(version)
            folder = registry.path(version)
    else:
        version = None
    if settings.engine == "openai":
        assert settings.engine_url is not None, "settings require the URL with this engine"
        engine = remote_engine(settings.engine_url, settings.engine_key, settings.engine_timeout)
        remote = RemoteModel(engine, version, folder)
        return Specialist(None, load_tokenizer(settings), settings.base_model, version, remote)
    if settings.engine == "llama-cpp":
        weights = merged_gguf(settings, version, folder)
        check_gguf(weights, None, settings.threads, settings.cache_dir)
        batched = BatchedEngine(
            weights,
            threads=settings.threads,
            slots=settings.engine_slots,
            prefill_chunk=settings.prefill_chunk,
        )
        tokenizer = load_tokenizer(settings)
        return Specialist(None, tokenizer, settings.base_model, version, batched=batched)
    load_dtype = "float32" if folder is not None else settings.serve_dtype
    model, tokenizer = load_base_model(settings.model_copy(update={"dtype": load_dtype}))
    if folder is not None:
        model = attach_adapter(model, folder, merge).to(getattr(torch, settings.serve_dtype))
    model.eval()
    return Specialist(model, tokenizer, settings.base_model, version)


def attach_adapter(model: PreTrainedModel, folder: Path, merge: bool) -> PreTrainedModel:
    """Apply the LoRA adapter in ``folder`` to ``model``, checking every weight really loaded.

    peft only warns about missing adapter weights; a half-applied adapter would quietly answer
    like the base model, so any mismatch between the file and the model is an error here.
    """
    from peft import PeftModel, get_peft_model_state_dict
    from safetensors.torch import load_file

    problem = adapter_problem(folder)
    if problem:
        raise UserError(f"adapter at {folder} is incomplete: {problem}")
    try:
        stored = load_file(folder / ADAPTER_WEIGHTS)
        peft_model = PeftModel.from_pretrained(model, folder, is_trainable=False)
    except Exception as exc:
        raise UserError(
            f"adapter at {folder} is damaged and cannot be loaded ({type(exc).__name__}: {exc})"
        ) from None
    expected = set(get_peft_model_state_dict(peft_model, save_embedding_layers=False))
    if set(stored) != expected:
        missing = len(expected - set(stored))
        raise UserError(
            f"adapter at {folder} does not fit this base model "
            f"({missing} of {len(expected)} LoRA weights missing, "
            f"{len(set(stored) - expected)} unexpected)"
        )
    if not merge:
        return peft_model
    return peft_model.merge_and_unload(safe_merge=True)

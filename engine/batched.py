"""Continuous batching on llama.cpp: every running answer advances one token per model step.

Decoding on a CPU is bound by reading the weights, once per step whatever the number of rows, so
answers generated together cost little more than one. One scheduler thread owns the llama.cpp
context; requests (token ids in, token ids out) wait in a line and each takes one of ``slots``
sequences of the context's KV cache. Each step builds one batch of:

1. the last token of every answer that is decoding (one row each, logits kept);
2. then up to ``prefill_chunk`` prompt tokens of newcomers, oldest first. This bounds the stall a
   newcomer's prompt causes the running answers: a step costs at most ``prefill_chunk`` prompt
   tokens more than a pure decode step (~0.3 s for the default 128 on 2 cores, against ~17 ms for
   a step of one decoding answer), and a long prompt is fed over several steps while the others
   keep producing a token per step. Smaller chunks stall less but prefill slower (measured with
   508-token prompts, q8_0, 2 threads: 339 tokens/s at 64, 423 at 128, 377 at 256).

After the step each answer's next token is the argmax of its logits (greedy, as everywhere in the
product). A request joins between two steps and leaves after the step that finishes it (end of
sequence, ``max_new_tokens``) or at the first step after its caller stops it (the client went
away, or the caller's own stop rule ended the answer); its KV cells are freed then.

Scoring requests (the judge's question likelihood) ride the same batches: their tokens are fed
like a prompt, with logits kept where a scored token is predicted, and they leave with the log
probabilities once fed. The llama.cpp call releases the GIL, so HTTP threads run meanwhile.
"""

from __future__ import annotations

import ctypes
import queue
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.remote import EngineUnavailableError
from specialist.errors import UserError

_backend_ready = threading.Lock()
_backend_started = False


def _llama():
    """The llama.cpp bindings, with the backend initialised once and only errors logged."""
    global _backend_started
    try:
        import llama_cpp
        from llama_cpp import _logger
    except ImportError:
        raise UserError(
            "engine 'llama-cpp' needs llama-cpp-python: run `make engine` "
            "(or pip install -e '.[engine]'), or set SPECIALIST_ENGINE=local"
        ) from None

    with _backend_ready:
        if not _backend_started:
            _logger.set_verbose(False)
            llama_cpp.llama_backend_init()
            _backend_started = True
    return llama_cpp


@dataclass(eq=False)
class Request:
    """One sequence in the engine: a prompt to answer, or a text whose tokens are to be scored."""

    ids: list[int]
    max_new_tokens: int
    score_from: int | None = None
    """Scoring: the first token whose log probability is wanted (no tokens are generated)."""
    stop: threading.Event | None = None
    ignore_end: bool = False
    out: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)
    cancelled: threading.Event = field(default_factory=threading.Event)
    slot: int = -1
    fed: int = 0
    produced: int = 0
    last: int = -1
    scores: list[float] = field(default_factory=list)

    @property
    def stopped(self) -> bool:
        return self.cancelled.is_set() or (self.stop is not None and self.stop.is_set())

    @property
    def feed_length(self) -> int:
        """Tokens to feed: all of a prompt; a scored text but its last (nothing follows it)."""
        return len(self.ids) if self.score_from is None else len(self.ids) - 1

    @property
    def decoding(self) -> bool:
        return self.score_from is None and self.fed == len(self.ids)

    def keeps_logits(self, position: int) -> bool:
        """Whether the logits at prompt ``position`` are needed (they predict position + 1)."""
        if self.score_from is None:
            return position == len(self.ids) - 1
        return position >= self.score_from - 1


_DONE = object()
RETIRED_GRACE_SECONDS = 30.0
"""How long a retired engine stays up once idle: a request that took the served specialist just
before a newer one replaced it still gets its answer."""


class BatchedEngine:
    """A GGUF model on llama.cpp serving many greedy answers and scorings at once (see the module)."""

    def __init__(
        self,
        path: Path,
        threads: int,
        slots: int = 4,
        slot_tokens: int = 2048,
        prefill_chunk: int = 128,
    ) -> None:
        lc = _llama()
        self._lc = lc
        self.path = path
        self.slots = slots
        self.slot_tokens = slot_tokens
        self.prefill_chunk = prefill_chunk
        model_params = lc.llama_model_default_params()
        self._model = lc.llama_model_load_from_file(str(path).encode(), model_params)
        if not self._model:
            raise UserError(f"llama.cpp could not load the model at {path}")
        context_params = lc.llama_context_default_params()
        context_params.n_ctx = slots * slot_tokens
        context_params.n_seq_max = slots
        context_params.n_batch = context_params.n_ubatch = prefill_chunk + slots
        context_params.n_threads = context_params.n_threads_batch = threads
        context_params.kv_unified = False
        context_params.no_perf = True
        self._context = lc.llama_init_from_model(self._model, context_params)
        if not self._context:
            lc.llama_model_free(self._model)
            raise UserError(f"llama.cpp could not make a context for {path}")
        vocab = lc.llama_model_get_vocab(self._model)
        self.vocab_size = lc.llama_vocab_n_tokens(vocab)
        self.end_ids = frozenset(
            t for t in range(self.vocab_size) if lc.llama_vocab_is_eog(vocab, t)
        )
        self._memory = lc.llama_get_memory(self._context)
        self._batch = lc.llama_batch_init(prefill_chunk + slots, 0, 1)
        self._lock = threading.Condition()
        self._waiting: deque[Request] = deque()
        self._running: list[Request] = []
        self._free = list(range(slots - 1, -1, -1))
        self._retired = False
        self._closing = False
        self._closed = False
        self.steps = 0
        self._thread = threading.Thread(target=self._loop, name="batched-engine", daemon=True)
        self._thread.start()

    # --- callers ---------------------------------------------------------------------------

    def generate(
        self,
        ids: Sequence[int],
        max_new_tokens: int,
        stop: threading.Event | None = None,
        ignore_end: bool = False,
    ) -> Iterator[int]:
        """Greedy token ids after ``ids``, each as soon as its step ends; closing the iterator or
        setting ``stop`` takes the request out of the batch at the next step. ``ignore_end``
        decodes past end-of-sequence tokens (benchmarks decode a fixed number of tokens)."""
        request = self._submit(Request(list(ids), max_new_tokens, stop=stop, ignore_end=ignore_end))
        try:
            while (item := request.out.get()) is not _DONE:
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            request.cancelled.set()
            self._wake()

    def score(self, texts: Sequence[tuple[Sequence[int], int]]) -> list[np.ndarray]:
        """For each ``(ids, start)``: ``log P(ids[i] | ids[:i])`` for every ``i >= start >= 1``.

        The texts are submitted together, so they share batches with each other and the answers.
        """
        for ids, start in texts:
            if not 1 <= start < len(ids):
                raise ValueError("scoring needs a token before and a token from `start` on")
        requests = [self._submit(Request(list(ids), 0, score_from=start)) for ids, start in texts]
        results = []
        for request in requests:
            result: list[float] = []
            while (item := request.out.get()) is not _DONE:
                if isinstance(item, Exception):
                    raise item
                result = item
            results.append(np.asarray(result, dtype=np.float64))
        return results

    def retire(self) -> None:
        """Free the model once idle for :data:`RETIRED_GRACE_SECONDS` (a newer one serves now)."""
        with self._lock:
            self._retired = True
            self._lock.notify()

    def close(self) -> None:
        """Free the model as soon as the requests it holds are done, and wait for that."""
        with self._lock:
            self._retired = True
            self._closing = True
            self._lock.notify()
        self._thread.join()

    def _submit(self, request: Request) -> Request:
        needed = len(request.ids) + request.max_new_tokens
        if not request.ids or (request.score_from is None and request.max_new_tokens < 1):
            raise UserError("the engine needs a prompt and at least one token to generate")
        if needed > self.slot_tokens:
            raise UserError(
                f"the prompt's {len(request.ids)} tokens plus {request.max_new_tokens} new ones "
                f"exceed the engine's {self.slot_tokens} tokens per answer"
            )
        with self._lock:
            if self._closed:
                raise EngineUnavailableError("the engine was replaced; retry")
            self._waiting.append(request)
            self._lock.notify()
        return request

    def _wake(self) -> None:
        with self._lock:
            self._lock.notify()

    # --- the scheduler thread --------------------------------------------------------------

    def _loop(self) -> None:
        try:
            while self._next_batch():
                self._step()
        finally:
            self._free_model()

    def _next_batch(self) -> bool:
        """Admit newcomers and drop stopped requests; False when retired with nothing left."""
        with self._lock:
            while True:
                for request in [r for r in self._running if r.stopped]:
                    self._finish(request)
                for request in [r for r in self._waiting if r.stopped]:
                    self._waiting.remove(request)
                    request.out.put(_DONE)
                while self._waiting and self._free:
                    request = self._waiting.popleft()
                    request.slot = self._free.pop()
                    self._running.append(request)
                if self._running:
                    return True
                grace = 0.0 if self._closing else RETIRED_GRACE_SECONDS
                if self._retired and not self._lock.wait(grace):
                    self._closed = True
                    return False
                if not self._retired:
                    self._lock.wait()

    def _step(self) -> None:
        batch, lc = self._batch, self._lc
        rows: list[tuple[Request, int]] = []  # (request, position) of each row whose logits stay
        count = 0

        def add(request: Request, token: int, position: int, logits: bool) -> None:
            nonlocal count
            batch.token[count] = token
            batch.pos[count] = position
            batch.n_seq_id[count] = 1
            batch.seq_id[count][0] = request.slot
            batch.logits[count] = logits
            if logits:
                rows.append((request, position))
            count += 1

        for request in self._running:
            if request.decoding and request.produced:
                add(request, request.last, len(request.ids) + request.produced - 1, True)
        budget = self.prefill_chunk
        for request in self._running:
            if budget <= 0:
                break
            start = request.fed
            end = min(request.feed_length, start + budget)
            for position in range(start, end):
                add(request, request.ids[position], position, request.keeps_logits(position))
            request.fed = end
            budget -= end - start
        batch.n_tokens = count
        status = lc.llama_decode(self._context, batch)
        self.steps += 1
        if status != 0:
            with self._lock:
                for request in list(self._running):
                    request.out.put(RuntimeError(f"llama.cpp failed a batch (status {status})"))
                    self._finish(request)
            return
        logits = np.ctypeslib.as_array(
            ctypes.cast(lc.llama_get_logits(self._context), ctypes.POINTER(ctypes.c_float)),
            shape=(len(rows), self.vocab_size),
        )
        finished = []
        for (request, position), row in zip(rows, logits, strict=True):
            if request.score_from is not None:
                shifted = row - row.max()
                total = np.log(np.exp(shifted, dtype=np.float64).sum())
                request.scores.append(float(shifted[request.ids[position + 1]] - total))
                if position == request.feed_length - 1:
                    request.out.put(request.scores)
                    finished.append(request)
                continue
            token = int(row.argmax())
            request.produced += 1
            request.last = token
            request.out.put(token)
            ended = token in self.end_ids and not request.ignore_end
            if ended or request.produced >= request.max_new_tokens:
                finished.append(request)
        if finished:
            with self._lock:
                for request in finished:
                    self._finish(request)

    def _finish(self, request: Request) -> None:
        """Take ``request`` out of the batch and free its KV cells (called holding the lock)."""
        if request in self._running:
            self._running.remove(request)
            self._lc.llama_memory_seq_rm(self._memory, request.slot, -1, -1)
            self._free.append(request.slot)
        request.out.put(_DONE)

    def _free_model(self) -> None:
        with self._lock:
            self._closed = True
            for request in [*self._running, *self._waiting]:
                request.out.put(EngineUnavailableError("the engine stopped; retry"))
                request.out.put(_DONE)
            self._running.clear()
            self._waiting.clear()
        self._lc.llama_batch_free(self._batch)
        self._lc.llama_free(self._context)
        self._lc.llama_model_free(self._model)

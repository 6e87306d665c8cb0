"""A bounded generation pool: a fixed number of workers and a fixed-length waiting line.

On two CPU cores, more answers generated at once only split the same cores, so concurrency beyond
the workers becomes a queue; beyond the queue, requests are refused at once (HTTP 503 with
``Retry-After``) instead of piling up memory and latency.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class OverloadedError(Exception):
    """Every worker is busy and the queue is full."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"the service is busy; retry in {retry_after} s")
        self.retry_after = retry_after


class GenerationPool:
    """Runs jobs on ``workers`` threads with at most ``queue`` more waiting."""

    def __init__(self, workers: int, queue: int) -> None:
        self.workers = workers
        self.capacity = workers + queue
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="generate")
        self._lock = threading.Lock()
        self._in_system = 0
        self._mean_seconds = 2.0

    @property
    def in_system(self) -> int:
        """Jobs running or waiting."""
        return self._in_system

    def retry_after(self) -> int:
        """Seconds until a slot is likely free: the queue ahead divided among the workers."""
        return max(1, math.ceil(self._mean_seconds * self._in_system / self.workers))

    def submit(self, job: Callable[[], T]) -> Future[T]:
        """Schedule ``job`` or raise :class:`OverloadedError` when there is no room."""
        with self._lock:
            if self._in_system >= self.capacity:
                raise OverloadedError(self.retry_after())
            self._in_system += 1

        def timed() -> T:
            begin = time.perf_counter()
            try:
                return job()
            finally:
                elapsed = time.perf_counter() - begin
                with self._lock:
                    self._mean_seconds = 0.8 * self._mean_seconds + 0.2 * elapsed

        try:
            future = self._executor.submit(timed)
        except RuntimeError:
            self._release()
            raise
        future.add_done_callback(lambda _: self._release())
        return future

    def _release(self) -> None:
        with self._lock:
            self._in_system -= 1

    def shutdown(self) -> None:
        """Stop accepting jobs; running ones finish."""
        self._executor.shutdown(wait=False, cancel_futures=True)

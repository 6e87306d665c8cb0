"""A bounded generation pool: a fixed number of workers and a fixed-length waiting line.

On two CPU cores, more answers generated at once only split the same cores, so concurrency beyond
the workers becomes a queue; beyond the queue, requests are refused at once (HTTP 503 with
``Retry-After``) instead of piling up memory and latency.

The cores are split among the jobs *running*, not among the workers (:mod:`engine.threads` says
why), and each job runs on a thread of its own that ends with it (:mod:`engine.fresh_thread` says
why).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

import torch

from engine.fresh_thread import on_fresh_thread
from engine.threads import share_threads_with, thread_share

T = TypeVar("T")


class OverloadedError(Exception):
    """Every worker is busy and the queue is full."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"the service is busy; retry in {retry_after} s")
        self.retry_after = retry_after


class GenerationPool:
    """Runs at most ``workers`` jobs at once, each on a thread of its own, with ``queue`` more waiting.

    Each running job gets ``thread_share(threads, running jobs)`` torch threads. torch's thread
    count belongs to the OS thread that sets it (OpenMP and MKL keep it per thread), so one thread
    cannot change another's: each job's thread applies its share itself, when the job starts and
    whenever the job calls :func:`engine.threads.fit_threads`. ``set_threads`` is injectable for
    tests.
    """

    def __init__(
        self,
        workers: int,
        queue: int,
        threads: int = 1,
        set_threads: Callable[[int], None] = torch.set_num_threads,
    ) -> None:
        self.workers = workers
        self.capacity = workers + queue
        self.threads = threads
        self._set_threads = set_threads
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="generate")
        self._lock = threading.Lock()
        self._set_here = threading.local()
        self._in_system = 0
        self._running = 0
        self._mean_seconds = 2.0

    @property
    def in_system(self) -> int:
        """Jobs running or waiting."""
        return self._in_system

    @property
    def running(self) -> int:
        """Jobs running now."""
        return self._running

    def share(self) -> int:
        """Torch threads each running job should use now."""
        return thread_share(self.threads, self._running)

    def fit_threads(self) -> None:
        """Set the calling job thread's torch threads to the current share, when it differs."""
        share = self.share()
        if getattr(self._set_here, "threads", None) != share:
            self._set_threads(share)
            self._set_here.threads = share

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
            with self._lock:
                self._running += 1
            begin = time.perf_counter()
            try:
                return self._on_own_thread(job)
            finally:
                elapsed = time.perf_counter() - begin
                with self._lock:
                    self._running -= 1
                    self._mean_seconds = 0.8 * self._mean_seconds + 0.2 * elapsed

        try:
            future = self._executor.submit(timed)
        except RuntimeError:
            self._release()
            raise
        future.add_done_callback(lambda _: self._release())
        return future

    def _on_own_thread(self, job: Callable[[], T]) -> T:
        """Run ``job`` on a new thread that ends with it, so its OpenMP team ends too."""

        def run() -> T:
            share_threads_with(self.fit_threads)
            self.fit_threads()
            return job()

        return on_fresh_thread(run, name=f"{threading.current_thread().name}-job")

    def _release(self) -> None:
        with self._lock:
            self._in_system -= 1

    def shutdown(self) -> None:
        """Stop accepting jobs; running ones finish."""
        self._executor.shutdown(wait=False, cancel_futures=True)

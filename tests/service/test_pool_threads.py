"""The pool splits torch threads among the jobs running; each worker applies its share itself."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

import pytest

from engine.threads import fit_threads
from service.pool import GenerationPool

FRESH_THREAD_COUNT = 1


class Threads:
    """Stands in for torch's thread count, which belongs to the OS thread that sets it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self.counts: dict[str, int] = {}

    def set(self, n: int) -> None:
        self.calls.append((threading.current_thread().name, n))
        self.counts[threading.current_thread().name] = n

    def count(self, thread: str | None) -> int:
        return self.counts.get(thread or "", FRESH_THREAD_COUNT)


class Answer:
    """A job that, like a generated answer, fits its threads before each step it is told to take."""

    def __init__(self) -> None:
        self.thread: str | None = None
        self.started = threading.Event()
        self._steps: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._stepped: queue.Queue[None] = queue.Queue()

    def __call__(self) -> None:
        self.thread = threading.current_thread().name
        self.started.set()
        while (action := self._steps.get()) is not None:
            action()
            fit_threads()
            self._stepped.put(None)

    def start_in(self, pool: GenerationPool) -> Answer:
        self.future = pool.submit(self)
        assert self.started.wait(5)
        return self

    def step(self, action: Callable[[], None] = lambda: None) -> None:
        self._steps.put(action)
        self._stepped.get(timeout=5)

    def finish(self) -> None:
        self._steps.put(None)
        self.future.result(timeout=5)


def pool_with(threads: Threads, workers: int, queue: int) -> GenerationPool:
    return GenerationPool(workers, queue, threads=2, set_threads=threads.set)


def test_share_follows_running_jobs() -> None:
    threads = Threads()
    pool = pool_with(threads, workers=2, queue=2)
    first = Answer().start_in(pool)
    assert threads.count(first.thread) == 2  # alone: every core

    second = Answer().start_in(pool)
    first.step()
    assert [threads.count(first.thread), threads.count(second.thread)] == [1, 1]  # a core each

    second.finish()
    first.step()
    assert threads.count(first.thread) == 2  # alone again: takes the core back
    first.finish()
    assert pool.running == 0
    pool.shutdown()


def test_threads_are_set_only_when_the_share_changes() -> None:
    threads = Threads()
    pool = pool_with(threads, workers=1, queue=1)
    running = Answer().start_in(pool)
    waiting = Answer()
    waiting.future = pool.submit(waiting)  # queued, not running: it takes no share
    for _ in range(3):
        running.step()
    assert threads.calls == [(running.thread, 2)]
    running.finish()
    assert waiting.started.wait(5)
    waiting.finish()
    # the next job runs on a thread of its own, which starts with torch's default: set it again
    assert threads.calls == [(running.thread, 2), (waiting.thread, 2)]
    pool.shutdown()


def test_each_job_runs_on_a_thread_that_ends_with_it() -> None:
    """A thread that ran torch keeps its OpenMP team until it ends, so jobs must not share one."""
    pool = pool_with(Threads(), workers=1, queue=1)
    ran_on = [pool.submit(threading.current_thread).result(timeout=5) for _ in range(2)]
    assert ran_on[0] is not ran_on[1]
    assert not any(thread.is_alive() for thread in ran_on)

    def fails() -> None:
        raise ValueError("bad question")

    with pytest.raises(ValueError, match="bad question"):
        pool.submit(fails).result(timeout=5)
    assert pool.running == 0
    pool.shutdown()


def test_never_below_one_thread() -> None:
    threads = Threads()
    pool = pool_with(threads, workers=3, queue=0)
    answers = [Answer().start_in(pool) for _ in range(3)]
    for answer in answers:
        answer.step()
    assert [threads.count(answer.thread) for answer in answers] == [1, 1, 1]
    for answer in answers:
        answer.finish()
    pool.shutdown()


def test_fit_threads_outside_a_pool_job_does_nothing() -> None:
    threads = Threads()
    pool = pool_with(threads, workers=1, queue=0)
    fit_threads()  # e.g. ``specialist ask --local``: torch keeps the count it has
    pool.submit(lambda: None).result(timeout=5)
    fit_threads()
    assert len(threads.calls) == 1  # the job's own worker, at its start
    assert threading.current_thread().name not in threads.counts
    pool.shutdown()

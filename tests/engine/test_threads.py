"""Thread shares: never below one, and adopted only on a thread whose runner registered how."""

from __future__ import annotations

import threading

from engine.fresh_thread import on_fresh_thread
from engine.threads import fit_threads, share_threads_with, thread_share


def test_share_splits_the_threads_and_never_drops_below_one() -> None:
    assert thread_share(4, 1) == 4
    assert thread_share(4, 2) == 2
    assert thread_share(1, 2) == 1
    assert thread_share(2, 0) == 2


def test_fit_threads_calls_only_the_hook_registered_on_its_own_thread() -> None:
    fitted: list[str] = []

    def job() -> None:
        share_threads_with(lambda: fitted.append(threading.current_thread().name))
        fit_threads()
        fit_threads()

    on_fresh_thread(job, name="job")
    fit_threads()  # this thread registered nothing: e.g. ``specialist ask --local``
    assert fitted == ["job", "job"]

"""Run torch-heavy work on a thread that ends with it, so the OpenMP helpers it made end too.

OpenMP keeps a team of helper threads for every thread that has run a multi-threaded torch op, for
as long as that thread lives. Once libgomp manages more threads than there are cores, it stops
spin-waiting and its helpers sleep and wake at every parallel region: decoding on a long-lived
worker, or next to one, was measured ~1.4x slower per token. Answers, reindexing and adapter
loading therefore each run on a fresh thread, and only the work running holds a team.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def on_fresh_thread(work: Callable[[], T], name: str | None = None) -> T:
    """Run ``work`` on a new thread, wait for it and return its result (or raise its error)."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, name=name or f"{threading.current_thread().name}-fresh")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]

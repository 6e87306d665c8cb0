"""How many torch threads an answer uses while other answers share the same cores.

On a CPU, answers generated at once split the cores: a lone answer should use every torch thread,
two at once half each, so an idle core is never wasted and busy cores are never oversubscribed
(answers that each use every core slow each other down several times over). Whoever runs answers
side by side (the service's generation pool) registers, on each answer's thread, how that thread
adopts its current share; the answer pipeline calls :func:`fit_threads` before and between model
steps, and outside such a runner (``specialist ask --local``, an evaluation) nothing changes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

_job = threading.local()
"""``fit``: how the job on this thread adopts its current thread share (set by its runner)."""


def thread_share(threads: int, running: int) -> int:
    """Torch threads for each of ``running`` jobs sharing ``threads``: never fewer than one."""
    return max(1, threads // max(1, running))


def share_threads_with(fit: Callable[[], None]) -> None:
    """On the calling thread, make :func:`fit_threads` call ``fit`` from now on."""
    _job.fit = fit


def fit_threads() -> None:
    """Adopt this thread's current share when a runner registered one; elsewhere, do nothing.

    Long jobs call this before and between model steps, so a running answer gives up a core when
    another starts and takes it back when that one finishes.
    """
    fit: Callable[[], None] | None = getattr(_job, "fit", None)
    if fit is not None:
        fit()

"""Work run on a fresh thread: its result or its error comes back, and the thread is gone."""

from __future__ import annotations

import threading

import pytest

from engine.fresh_thread import on_fresh_thread


def test_fresh_thread_returns_the_result_or_raises_the_error() -> None:
    ran_on = on_fresh_thread(threading.current_thread, name="probe")
    assert ran_on is not threading.current_thread()
    assert ran_on.name == "probe" and not ran_on.is_alive()

    def fails() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError, match="missing"):
        on_fresh_thread(fails)

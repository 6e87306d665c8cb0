"""``specialist chat``: a two-turn conversation typed on stdin against the keyed live service."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def chat(*args: str, stdin: str, key: str | None = None) -> subprocess.CompletedProcess:
    """Run ``specialist chat`` with ``stdin`` as what the user types, then end of input."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if key:
        env["SPECIALIST_API_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "specialist.cli", "chat", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )


def test_a_follow_up_is_answered_in_the_same_conversation(guarded_live) -> None:
    url, app = guarded_live
    typed = "Where does the Rhine rise?\n\nWhich port do its barges serve?\n"
    result = chat("--url", url, stdin=typed, key=app.state.settings.api_key)
    assert result.returncode == 0, result.stderr
    sources = [line for line in result.stdout.splitlines() if line.startswith("  [")]
    assert len(sources) == 2 and all("rivers/rhine.md" in line for line in sources)
    first, second, _ = result.stdout.split("rivers/rhine.md")
    assert "Swiss Alps" in first
    assert "Rotterdam" in second


def test_the_wrong_key_and_an_unreachable_service_are_one_sentence(guarded_live) -> None:
    url, _ = guarded_live
    refused = chat("--url", url, stdin="Where does the Rhine rise?\n", key="wrong")
    assert refused.returncode == 2
    assert "answered 401: missing or wrong API key" in refused.stderr
    gone = chat("--url", "http://127.0.0.1:9", stdin="anything\n")
    assert gone.returncode == 2
    assert gone.stderr.count("\n") == 1 and "cannot reach the service" in gone.stderr
    assert "Traceback" not in gone.stderr


def test_end_of_input_at_once_ends_with_code_0(guarded_live) -> None:
    url, app = guarded_live
    assert chat("--url", url, stdin="", key=app.state.settings.api_key).returncode == 0

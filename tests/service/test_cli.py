"""``specialist ask`` against the live service and in-process; ``serve`` is registered."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from specialist.cli import main
from specialist.prompt import NO_ANSWER

pytestmark = pytest.mark.slow


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "specialist.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_ask_remote_prints_answer_and_sources(base_url: str) -> None:
    """The corpus answers this question, so the answer and exactly one source must be printed.

    The printed answer ends with the ``[n]`` of the one source line, which names the Rhine article.
    """
    result = run_cli(
        "ask", "--url", base_url, "--max-new-tokens", "8", "Where does the Rhine rise?"
    )
    assert result.returncode == 0, result.stderr
    answer, sources = result.stdout.split("\n\nSources:\n")
    assert "Swiss Alps" in answer
    assert "(no passage cited)" not in result.stdout
    [line] = sources.strip().splitlines()
    cited = re.fullmatch(r"\[(\d+)\] rivers/rhine\.md  .*  \(score -?\d+\.\d{3}\)", line)
    assert cited, line
    assert answer.rstrip().endswith(f"[{cited.group(1)}]")


def test_ask_remote_unreachable_is_one_line() -> None:
    result = run_cli("ask", "--url", "http://127.0.0.1:9", "anything")
    assert result.returncode == 2
    assert "cannot reach the service" in result.stderr
    assert "Traceback" not in result.stderr


def test_ask_local_in_process(service_settings, monkeypatch, capsys) -> None:
    monkeypatch.setenv("SPECIALIST_HOME", str(service_settings.home))
    monkeypatch.setenv("SPECIALIST_THREADS", "1")
    assert main(["ask", "--local", "How do I bake a chocolate cake?"]) == 0
    out = capsys.readouterr().out
    assert NO_ANSWER in out
    assert "(no passage cited)" in out


def test_ask_local_validation_is_exit_2(capsys) -> None:
    assert main(["ask", "--local", "--top-k", "50", "question"]) == 2
    assert "top_k" in capsys.readouterr().err

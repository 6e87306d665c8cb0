"""Every ``curl`` line of the README and of ``docs/``, replayed against a live service, succeeds.

The README is the front door; an example that a new user copies and gets a 422 for is a bug. The
commands are parsed from the bash blocks (continuation lines joined) and sent with the same method,
headers and body to a live service on the shipped defaults: the shipped corpus, so the examples'
source ids and topics are the ones a new user has.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]


@pytest.fixture(scope="module")
def shipped_live(start_service):
    """A live service indexing the shipped corpus (``corpora/xquad``), as ``make run`` does."""
    with start_service(docs_dirs=[ROOT / "corpora" / "xquad"]) as live:
        yield live


def every_curl_line() -> list[str]:
    return [command for page in PAGES for command in curl_lines(page.read_text())]


def curl_lines(text: str) -> list[str]:
    """The ``curl`` commands of the bash blocks of ``text``, continuation lines joined."""
    commands, block, pending = [], False, ""
    for line in text.splitlines():
        if line.startswith("```"):
            block = line.strip() == "```bash"
            continue
        if not block:
            continue
        joined = pending + line.strip()
        if joined.endswith("\\"):
            pending = joined[:-1] + " "
            continue
        pending = ""
        if joined.startswith("curl "):
            commands.append(joined)
    return commands


def request_of(command: str) -> tuple[str, str, dict[str, str], str | None]:
    """(method, path, headers, body) of one curl command."""
    words = shlex.split(command)[1:]
    method, path, headers, body = None, None, {}, None
    while words:
        word = words.pop(0)
        if word == "-X":
            method = words.pop(0)
        elif word == "-H":
            name, value = words.pop(0).split(":", 1)
            headers[name.strip()] = value.strip()
        elif word == "-d":
            body = words.pop(0)
        elif word.startswith("-"):
            assert set(word[1:]) <= set("sN"), f"the test does not know curl flag {word}"
        else:
            path = "/" + word.split("/", 1)[1] if "/" in word else "/"
    assert path is not None, f"no URL in {command!r}"
    return method or ("POST" if body is not None else "GET"), path, headers, body


def test_the_readme_has_curl_examples_for_asking_and_operations() -> None:
    paths = {request_of(command)[1] for command in curl_lines(README.read_text())}
    assert {"/ask", "/summarize"} <= paths
    everywhere = {request_of(command)[1] for command in every_curl_line()}
    assert {"/ask", "/summarize", "/ready", "/adapters", "/metrics", "/reindex"} <= everywhere


@pytest.mark.parametrize("command", every_curl_line())
def test_every_curl_example_works(shipped_live, command: str) -> None:
    url, _ = shipped_live
    method, path, headers, body = request_of(command)
    if body is not None:
        json.loads(body)
    with httpx.Client(base_url=url, timeout=120) as client:
        response = client.request(method, path, headers=headers, content=body)
    assert response.status_code < 400, f"{command}\n-> {response.status_code} {response.text}"
    if "event-stream" in response.headers["content-type"]:
        return
    if path == "/ask":
        assert response.json()["answer"]
    if path == "/summarize":
        assert response.json()["sentences"]

"""A client that hangs up on /ask, streamed or not, frees its worker within two tokens.

Real client, real socket, real model writing the answer: the client times out halfway through a
long answer, which closes its connection, and the server's token counter shows how many tokens
were made after that.
"""

from __future__ import annotations

import time

import httpx
import pytest

pytestmark = pytest.mark.slow

QUESTION = {"question": "Tell me about shipping on the Rhine.", "max_new_tokens": 256}


def generated(app) -> float:
    """Tokens the service has generated so far, abandoned answers included."""
    return app.state.runtime.metrics.tokens._value.get()


def test_hanging_up_a_plain_request_stops_its_answer(generating_live) -> None:
    url, app = generating_live
    pool = app.state.pool
    start = generated(app)
    with httpx.Client(base_url=url, timeout=120) as client:
        whole = client.post("/ask", json=QUESTION)
    assert whole.status_code == 200
    before = generated(app)
    full = whole.json()
    tokens = before - start
    assert tokens >= 8, f"the answer is too short to hang up halfway: {full['answer']!r}"
    per_token_s = full["timings_ms"]["generate"] / 1000 / tokens

    halfway = full["timings_ms"]["total"] / 1000 / 2
    with httpx.Client(base_url=url, timeout=halfway) as client, pytest.raises(httpx.ReadTimeout):
        client.post("/ask", json=QUESTION)
    hung_up = generated(app)
    deadline = time.monotonic() + 30 * per_token_s + 5
    while pool.in_system and time.monotonic() < deadline:
        time.sleep(0.005)
    assert pool.in_system == 0, "the worker kept generating after the client left"
    after_hang_up = generated(app) - hung_up
    assert after_hang_up <= 2, f"{after_hang_up} tokens were generated after the hang-up"
    assert generated(app) - before < tokens, "the abandoned answer ran to its end"
    time.sleep(10 * per_token_s)
    assert generated(app) - hung_up == after_hang_up


def test_hanging_up_a_stream_stops_its_answer(generating_live) -> None:
    url, app = generating_live
    pool = app.state.pool
    with (
        httpx.Client(base_url=url, timeout=120) as client,
        client.stream("POST", "/ask", json={**QUESTION, "stream": True}) as response,
    ):
        for line in response.iter_lines():
            if line.startswith("event: token"):
                break
    hung_up = generated(app)
    deadline = time.monotonic() + 10
    while pool.in_system and time.monotonic() < deadline:
        time.sleep(0.005)
    assert pool.in_system == 0, "the worker kept generating after the client left"
    assert generated(app) - hung_up <= 2, "tokens kept coming after the hang-up"

"""Server-sent events: tokens first, then one final event; a disconnect stops generation."""

from __future__ import annotations

import time

import httpx
import pytest

from service.cli import parse_sse

pytestmark = pytest.mark.slow


def test_stream_tokens_then_done(client: httpx.Client) -> None:
    with client.stream(
        "POST",
        "/ask",
        json={"question": "How long is the Rhine?", "stream": True, "max_new_tokens": 16},
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = list(parse_sse(response.iter_lines()))
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "done" and kinds.count("done") == 1
    assert kinds.count("token") >= 2
    done = events[-1][1]
    streamed = "".join(data["text"] for kind, data in events if kind == "token")
    assert streamed.strip() == done["answer"]
    assert set(done["timings_ms"]) == {"retrieve", "generate", "total"}
    assert isinstance(done["citations"], list)


def test_accept_header_selects_streaming(client: httpx.Client) -> None:
    response = client.post(
        "/ask",
        json={"question": "What do chloroplasts contain?", "max_new_tokens": 4},
        headers={"accept": "text/event-stream"},
    )
    assert response.headers["content-type"].startswith("text/event-stream")
    assert "event: done" in response.text


def test_disconnect_stops_generation(client: httpx.Client, app) -> None:
    """Closing the stream after the first token frees the worker long before 256 tokens."""
    pool = app.state.pool
    tokens = app.state.runtime.metrics.tokens
    with client.stream(
        "POST",
        "/ask",
        json={
            "question": "Tell me about shipping on the Rhine.",
            "stream": True,
            "max_new_tokens": 256,
        },
    ) as response:
        for line in response.iter_lines():
            if line.startswith("event: token"):
                break
    closed = time.monotonic()
    while pool.in_system and time.monotonic() - closed < 10:
        time.sleep(0.05)
    assert pool.in_system == 0, "generation kept running after the client left"
    before = tokens._value.get()
    time.sleep(0.5)
    assert tokens._value.get() == before

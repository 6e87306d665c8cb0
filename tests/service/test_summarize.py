"""Summaries through every front: ``POST /summarize``, ``/ask``, ``/v1`` and the CLI, on the live
service (real index, real specialist), with the errors a user can cause."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from service.cli import parse_sse

pytestmark = pytest.mark.slow

PASTED = (
    "The city council voted on Tuesday to close the Old Mill bridge to cars from 1 March. "
    "Engineers found cracks in two of its stone arches during an inspection in January. "
    "Cyclists and pedestrians may still cross the bridge while repairs go on. "
    "A new road bridge, which will cost 14 million pounds, is due to open in 2027."
)
LONG = (
    Path(__file__).resolve().parents[2] / "corpora" / "xquad" / "European_Union_law.md"
).read_text()


def summarize(client: httpx.Client, **body) -> httpx.Response:
    return client.post("/summarize", json=body)


def test_a_source_by_id_is_summarized_and_cited(client: httpx.Client) -> None:
    reply = summarize(client, source="rivers/rhine.md", length="short")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert [c["source"] for c in body["citations"]] == ["rivers/rhine.md"]
    assert 1 <= len(body["sentences"]) <= 2
    assert all(s["citations"] == [1] for s in body["sentences"])
    assert body["summary"].endswith("[1]") and body["index_version"]
    assert body["guard"]["generated_sentences"] >= 1 and body["length"] == "short"


def test_a_topic_retrieves_its_document(client: httpx.Client) -> None:
    reply = summarize(client, query="how plants make sugar from light")
    assert reply.status_code == 200, reply.text
    sources = {c["source"] for c in reply.json()["citations"]}
    assert sources == {"science/photosynthesis.md"}


def test_pasted_text_is_summarized_as_given(client: httpx.Client) -> None:
    body = summarize(client, text=PASTED, length="short", max_words=40).json()
    assert body["index_version"] is None
    assert body["citations"][0]["source"] == "(pasted text)"
    assert "bridge" in body["summary"].lower()


def test_bad_requests_get_one_sentence(client: httpx.Client, app) -> None:
    unknown = summarize(client, source="nowhere.md")
    assert unknown.status_code == 404 and "nowhere.md" in unknown.json()["detail"]
    assert summarize(client, query="the rules of cricket").status_code == 404
    for body, status in (
        ({}, 422),
        ({"source": "rivers/rhine.md", "query": "Rhine"}, 422),
        ({"text": "   "}, 422),
        ({"query": " "}, 422),
        ({"sources": ["rivers/rhine.md", ""]}, 422),
        ({"text": PASTED, "length": "huge"}, 422),
        ({"text": PASTED, "max_words": 3}, 422),
        ({"text": "word " * (app.state.settings.max_summary_chars // 5 + 1)}, 413),
    ):
        reply = summarize(client, **body)
        assert reply.status_code == status, (body, reply.text)
        assert isinstance(reply.json()["detail"], str)


def test_a_stream_shows_progress_then_sentences_then_the_summary(client: httpx.Client) -> None:
    with client.stream("POST", "/summarize", json={"text": LONG, "stream": True}) as reply:
        assert reply.status_code == 200
        events = list(parse_sse(reply.iter_lines()))
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "done" and "sentence" in kinds
    progress = [data for kind, data in events if kind == "progress"]
    assert progress[0]["stage"] == "map" and progress[0]["total"] > 2
    final = events[-1][1]
    assert [data["text"] for kind, data in events if kind == "sentence"] == [
        s["text"] for s in final["sentences"]
    ]


def test_leaving_mid_map_reduce_stops_the_work(live) -> None:
    url, app = live
    pool = app.state.pool
    with (
        httpx.Client(base_url=url, timeout=120) as client,
        client.stream("POST", "/summarize", json={"text": LONG * 3, "stream": True}) as reply,
    ):
        for line in reply.iter_lines():
            if line.startswith("event: progress"):
                break  # one part summarized of many: hang up
    left = time.monotonic()
    while pool.in_system and time.monotonic() - left < 15:
        time.sleep(0.01)
    assert pool.in_system == 0, "the summary kept running after its client left"
    assert time.monotonic() - left < 15


def test_ask_and_chat_recognize_a_summary_request(client: httpx.Client) -> None:
    asked = client.post("/ask", json={"question": "Summarize the document about the Rhine."})
    assert asked.status_code == 200
    answer = asked.json()
    assert [c["source"] for c in answer["citations"]] == ["rivers/rhine.md"]
    assert "[1]" in answer["answer"]
    chat = client.post(
        "/v1/chat/completions",
        json={
            "model": "specialist",
            "messages": [{"role": "user", "content": f"Summarize this article: {PASTED}"}],
        },
    )
    assert chat.status_code == 200, chat.text
    message = chat.json()["choices"][0]["message"]
    assert "bridge" in message["content"].lower()
    assert message["sources"][0]["source"] == "(pasted text)"
    question = client.post("/ask", json={"question": "Where does the Rhine rise?"}).json()
    assert "Alps" in question["answer"]


def test_the_cli_summarizes_a_file(base_url: str, tmp_path: Path) -> None:
    article = tmp_path / "bridge.txt"
    article.write_text(PASTED)
    result = subprocess.run(
        [sys.executable, "-m", "specialist.cli", "summarize", str(article), "--length", "short",
         "--url", base_url, "--json"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["sentences"]
    both = subprocess.run(
        [sys.executable, "-m", "specialist.cli", "summarize", str(article), "--query", "x"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert both.returncode == 2 and "exactly one of" in both.stderr

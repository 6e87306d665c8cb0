"""The /ask contract, validation errors, limits, health, readiness and metrics over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from specialist.prompt import NO_ANSWER

pytestmark = pytest.mark.slow


def test_health_and_ready(client: httpx.Client) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["ready"] is True
    assert ready.json()["index_version"]


def test_fresh_start_indexed_the_first_root_and_reported_skips(app) -> None:
    """On a fresh home the service indexed its first document root by itself."""
    runtime = app.state.runtime
    assert runtime.serving.index.num_chunks >= 2
    jobs = [runtime.jobs.get(job_id) for job_id in list(runtime.jobs._jobs)]
    first = jobs[0]
    assert first.state == "done"
    assert any(s.path.endswith("broken.pdf") for s in first.report.skipped)


def test_ask_contract(client: httpx.Client) -> None:
    response = client.post(
        "/ask", json={"question": "Where does the Rhine rise?", "top_k": 3, "max_new_tokens": 24}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {
        "answer",
        "citations",
        "index_version",
        "adapter_version",
        "base_model",
        "timings_ms",
    }
    assert body["answer"]
    assert body["base_model"] == "smollm2-135m"
    assert set(body["timings_ms"]) == {"retrieve", "generate", "total"}
    assert body["timings_ms"]["total"] >= body["timings_ms"]["generate"] > 0
    [citation] = body["citations"]
    assert set(citation) == {"n", "source", "title", "heading", "snippet", "score"}
    assert body["answer"].endswith(f" [{citation['n']}]")
    assert 1 <= citation["n"] <= 3
    assert citation["source"] == "rivers/rhine.md"
    assert "Swiss Alps" in body["answer"]


@pytest.mark.parametrize(
    "question",
    [
        "Where does the Rhine rise?",
        "What do barges carry on the Rhine?",
        "Which pigment absorbs red and blue light?",
        "What gas do the light-dependent reactions release?",
    ],
)
def test_answers_are_quoted_from_the_cited_document(
    client: httpx.Client, documents: dict[str, str], question: str
) -> None:
    """The extractive reader never writes a word the documents do not hold."""
    body = client.post("/ask", json={"question": question, "top_k": 3}).json()
    quoted, marker = body["answer"].rsplit(" ", 1)
    [citation] = body["citations"]
    assert marker == f"[{citation['n']}]"
    document = " ".join(documents[citation["source"]].split())
    assert " ".join(quoted.split()) in document
    assert " ".join(quoted.split()) in " ".join(citation["snippet"].split())


def test_unrelated_question_is_not_covered(client: httpx.Client) -> None:
    """When no sentence is likely to answer, the answer says the documents are silent."""
    for question in ("How do I bake a chocolate cake?", "What is the boiling point of tungsten?"):
        body = client.post("/ask", json={"question": question}).json()
        assert body["answer"] == NO_ANSWER
        assert body["citations"] == []


def test_source_filter(client: httpx.Client) -> None:
    body = client.post(
        "/ask",
        json={
            "question": "Where does the Rhine rise?",
            "filters": {"source": "science/"},
            "max_new_tokens": 8,
        },
    ).json()
    assert all(c["source"].startswith("science/") for c in body["citations"])


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"question": "x" * 2001}, "question"),
        ({"question": "   "}, "question"),
        ({}, "question"),
        ({"question": "ok", "top_k": 0}, "top_k"),
        ({"question": "ok", "top_k": 21}, "top_k"),
        ({"question": "ok", "max_new_tokens": 0}, "max_new_tokens"),
        ({"question": "ok", "max_new_tokens": 100_000}, "max_new_tokens"),
        ({"question": "ok", "filters": {"folder": "x"}}, "filters"),
        ({"question": "ok", "colour": "red"}, "colour"),
    ],
)
def test_validation_errors_are_422_with_a_message(
    client: httpx.Client, payload: dict, field: str
) -> None:
    response = client.post("/ask", json=payload)
    assert response.status_code == 422
    assert field in response.json()["detail"]


def test_malformed_json_is_422(client: httpx.Client) -> None:
    response = client.post(
        "/ask", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422


def test_body_size_limit(client: httpx.Client) -> None:
    response = client.post("/ask", json={"question": "x" * 20_000})
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]

    def chunks():
        yield b'{"question": "'
        for _ in range(40):
            yield b"y" * 1000
        yield b'"}'

    chunked = client.post("/ask", content=chunks(), headers={"content-type": "application/json"})
    assert chunked.status_code == 413


def test_metrics(client: httpx.Client) -> None:
    client.post("/ask", json={"question": "What gas do plants release?", "max_new_tokens": 8})
    text = client.get("/metrics").text
    assert 'specialist_requests_total{method="POST",route="/ask",status="200"}' in text
    assert 'specialist_ask_seconds_count{stage="retrieve"}' in text
    assert 'specialist_ask_seconds_count{stage="generate"}' in text
    assert 'specialist_ask_seconds_count{stage="total"}' in text
    assert "specialist_tokens_generated_total" in text
    assert "specialist_index_chunks" in text
    assert 'specialist_active_adapter{base_model="smollm2-135m"' in text


def test_openapi_documents_ask(client: httpx.Client) -> None:
    schema = client.get("/openapi.json").json()
    assert "/ask" in schema["paths"]
    assert "/reindex/{job_id}" in schema["paths"]

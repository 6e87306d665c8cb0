"""Every error under ``/v1/`` has OpenAI's shape and status; the rest of the API keeps its own.

Raw HTTP, so what is checked is the body a client gets: ``{"error": {"message", "type", "param",
"code"}}`` for a body that is not JSON (400), a missing key (401), an unknown route (404), a body
over the limit (413), a schema failure (422), and a service that is loading or full (503 with
``Retry-After``).
"""

from __future__ import annotations

import threading

import httpx
import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.runtime import Runtime

pytestmark = pytest.mark.slow

CHAT = {"model": "specialist", "messages": [{"role": "user", "content": "Where is Basel?"}]}


def assert_openai_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    """The error object of ``response``, checked for OpenAI's shape and ``status``."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"]
    assert error["type"] == ("server_error" if status >= 500 else "invalid_request_error")
    if code is not None:
        assert error["code"] == code
    return error


@pytest.fixture(scope="module")
def keyed(guarded_live) -> tuple[str, dict[str, str]]:
    """(URL, auth header) of the live service that needs a key."""
    url, app = guarded_live
    return url, {"Authorization": f"Bearer {app.state.settings.api_key}"}


def test_missing_key_and_body_limit_come_from_the_guard_in_openai_shape(keyed) -> None:
    url, auth = keyed
    assert_openai_error(httpx.get(f"{url}/v1/models"), 401, "invalid_api_key")
    assert httpx.post(f"{url}/ask", json={"question": "x"}).json() == {
        "detail": "missing or wrong API key"
    }
    huge = {**CHAT, "padding": "x" * 1_000_001}  # over max_document_bytes
    assert_openai_error(
        httpx.post(f"{url}/v1/chat/completions", json=huge, headers=auth), 413, "request_too_large"
    )


def test_a_body_that_is_not_json_is_a_bad_request(keyed) -> None:
    url, auth = keyed
    response = httpx.post(
        f"{url}/v1/chat/completions",
        content=b"{not json",
        headers={**auth, "content-type": "application/json"},
    )
    assert_openai_error(response, 400)


def test_schema_failures_name_the_field(keyed) -> None:
    url, auth = keyed
    wrong_role = {**CHAT, "messages": [{"role": "robot", "content": "hi"}]}
    error = assert_openai_error(
        httpx.post(f"{url}/v1/chat/completions", json=wrong_role, headers=auth), 422
    )
    assert error["param"] == "messages.0.role"
    image = {"type": "image_url", "image_url": {"url": "data:,"}}
    picture = {**CHAT, "messages": [{"role": "user", "content": [image]}]}
    error = assert_openai_error(
        httpx.post(f"{url}/v1/chat/completions", json=picture, headers=auth), 400
    )
    assert error["param"] == "messages.0.content"


def test_unknown_routes_are_not_found_in_openai_shape(keyed) -> None:
    url, auth = keyed
    assert_openai_error(httpx.post(f"{url}/v1/completions", json=CHAT, headers=auth), 404)
    assert httpx.get(f"{url}/nowhere", headers=auth).json() == {"detail": "Not Found"}


def test_a_loading_service_answers_503_with_retry_after(service_settings) -> None:
    loading = create_app(service_settings, runtime=Runtime(service_settings))
    with TestClient(loading) as client:
        response = client.post("/v1/chat/completions", json=CHAT)
        assert_openai_error(response, 503, "service_unavailable")
        assert int(response.headers["retry-after"]) >= 1
        embedded = client.post("/v1/embeddings", json={"model": "all-minilm-l6-v2", "input": "x"})
        assert_openai_error(embedded, 503)


def test_a_full_pool_answers_503_with_retry_after(guarded_live) -> None:
    _, app = guarded_live
    settings = app.state.settings.model_copy(
        update={"generation_workers": 1, "generation_queue": 0, "api_key": None}
    )
    tiny = create_app(settings, runtime=app.state.runtime)
    release = threading.Event()
    busy = tiny.state.pool.submit(release.wait)
    try:
        with TestClient(tiny) as client:
            refused = client.post("/v1/chat/completions", json=CHAT)
            streamed = client.post("/v1/chat/completions", json={**CHAT, "stream": True})
    finally:
        release.set()
        busy.result(timeout=10)
    for response in (refused, streamed):
        assert "busy" in assert_openai_error(response, 503)["message"]
        assert int(response.headers["retry-after"]) >= 1

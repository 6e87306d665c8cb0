"""The optional API key: every route but /health and /ready (and the page shell) needs it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.app import create_app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def keyed(app, service_settings):
    """A second app over the live service's loaded models, with an API key set."""
    settings = service_settings.model_copy(update={"api_key": "s3cret-key"})
    with TestClient(create_app(settings, runtime=app.state.runtime)) as client:
        yield client


def test_open_routes_need_no_key(keyed: TestClient) -> None:
    assert keyed.get("/health").status_code == 200
    assert keyed.get("/ready").status_code == 200
    assert keyed.get("/").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/ask"),
        ("GET", "/metrics"),
        ("GET", "/adapters"),
        ("POST", "/reindex"),
        ("GET", "/reindex/abc"),
        ("POST", "/adapters/x/activate"),
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/redoc"),
    ],
)
def test_protected_routes_refuse_without_the_key(keyed: TestClient, method: str, path: str) -> None:
    assert keyed.request(method, path).status_code == 401
    wrong = keyed.request(method, path, headers={"authorization": "Bearer s3cret-kez"})
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == "Bearer"


def test_the_key_opens_them(keyed: TestClient) -> None:
    headers = {"authorization": "Bearer s3cret-key"}
    assert keyed.get("/adapters", headers=headers).status_code == 200
    response = keyed.post("/ask", json={"question": "How do I bake a cake?"}, headers=headers)
    assert response.status_code == 200


def test_without_a_key_everything_is_open(client) -> None:
    assert client.get("/adapters").status_code == 200
    assert client.get("/metrics").status_code == 200

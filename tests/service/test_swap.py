"""Hot swaps under concurrent requests: nothing is lost, in-flight answers keep their versions."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from service.cli import parse_sse

pytestmark = pytest.mark.slow
QUESTION = {"question": "Where does the Rhine rise?", "max_new_tokens": 6, "stream": True}


class Asker(threading.Thread):
    """One streaming request; records its status, whether it saw a token, and the final event."""

    def __init__(self, base_url: str, first_token: threading.Event) -> None:
        super().__init__(daemon=True)
        self.base_url = base_url
        self.first_token = first_token
        self.status: int | None = None
        self.done: dict | None = None

    def run(self) -> None:
        with (
            httpx.Client(base_url=self.base_url, timeout=120) as client,
            client.stream("POST", "/ask", json=QUESTION) as response,
        ):
            self.status = response.status_code
            for kind, data in parse_sse(response.iter_lines()):
                if kind == "token":
                    self.first_token.set()
                elif kind == "done":
                    self.done = data


def run_during(base_url: str, action, count: int = 3) -> tuple[list[Asker], object]:
    """Start ``count`` streaming requests, run ``action`` once the first token arrived."""
    first = threading.Event()
    askers = [Asker(base_url, first) for _ in range(count)]
    for asker in askers:
        asker.start()
    assert first.wait(60)
    result = action()
    for asker in askers:
        asker.join(120)
    return askers, result


def test_adapter_switch_under_load(base_url, app, client, service_settings, make_adapter) -> None:
    runtime = app.state.runtime
    old = runtime.serving.specialist.adapter_version
    new = make_adapter(service_settings, "smollm2-135m")
    listed = client.get("/adapters").json()
    assert new in [row["version"] for row in listed["adapters"]]

    askers, response = run_during(base_url, lambda: client.post(f"/adapters/{new}/activate"))

    assert response.status_code == 200, response.text
    assert response.json()["serving"] == new
    assert all(a.status == 200 and a.done is not None for a in askers), "a request was lost"
    assert all(a.done["adapter_version"] == old for a in askers), (
        "in-flight answers changed adapter"
    )
    after = client.post("/ask", json={**QUESTION, "stream": False}).json()
    assert after["adapter_version"] == new
    assert 'version="' + new + '"' in client.get("/metrics").text


def test_adapter_for_another_base_model_is_refused(
    client, app, service_settings, make_adapter
) -> None:
    serving = app.state.runtime.serving.specialist.adapter_version
    foreign = make_adapter(service_settings, "gemma3-270m")
    response = client.post(f"/adapters/{foreign}/activate")
    assert response.status_code == 409
    assert "gemma3-270m" in response.json()["detail"]
    assert app.state.runtime.serving.specialist.adapter_version == serving
    assert client.post("/adapters/no-such-version/activate").status_code == 404


def test_reindex_under_load(base_url, app, client, corpus) -> None:
    runtime = app.state.runtime
    old = runtime.serving.index.version
    (corpus / "rivers" / "danube.md").write_text(
        "# Danube\n\nThe Danube flows from the Black Forest in Germany to the Black Sea, "
        "passing Vienna, Bratislava, Budapest and Belgrade on its way."
    )

    askers, response = run_during(base_url, lambda: client.post("/reindex", json={}))

    assert response.status_code == 202
    job_id = response.json()["id"]
    deadline = time.monotonic() + 60
    while (job := client.get(f"/reindex/{job_id}").json())["state"] in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert job["state"] == "done", job
    assert job["report"]["files_indexed"] >= 1
    assert any(s["path"].endswith("broken.pdf") for s in job["report"]["skipped"])
    assert all(a.status == 200 and a.done is not None for a in askers), "a request was lost"
    assert all(a.done["index_version"] == old for a in askers)
    assert runtime.serving.index.version == job["report"]["version"] != old
    body = client.post(
        "/ask", json={"question": "Which cities does the Danube pass?", "max_new_tokens": 4}
    ).json()
    assert body["index_version"] == job["report"]["version"]


def test_switch_made_outside_the_service_is_followed(app, service_settings, make_adapter) -> None:
    """``specialist adapters activate`` in another process moves the pointer; the service follows."""
    from specialist.adapters import AdapterRegistry

    version = make_adapter(service_settings, "smollm2-135m")
    AdapterRegistry(service_settings).activate(version)
    deadline = time.monotonic() + 30
    while app.state.runtime.serving.specialist.adapter_version != version:
        assert time.monotonic() < deadline, "the service never picked up the new adapter"
        time.sleep(0.2)

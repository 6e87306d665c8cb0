"""The service on the in-process llama.cpp engine: answers, concurrency, hot swap, disconnects."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from engine.answering import AnswerPolicy, Question, answer_question
from engine.loader import load_specialist
from engine.snapshot import Engine
from service.cli import parse_sse
from specialist.settings import load_settings

pytest.importorskip("llama_cpp", reason="the engine extra is not installed (make test does)")

QUESTIONS = ["Where does the Rhine rise?", "What is photosynthesis?", "Who founded the city?"]


@pytest.fixture(scope="module")
def llama_live(start_service, make_home) -> Iterator[tuple[str, object, object]]:
    """A live service generating every answer on llama.cpp, float32 weights (comparable)."""
    home = make_home()
    with start_service(home=home, engine="llama-cpp", engine_weights="f32", reader="generate") as (
        url,
        app,
    ):
        yield url, app, home


def ask(url: str, question: str, tokens: int = 32) -> dict:
    reply = httpx.post(
        f"{url}/ask", json={"question": question, "max_new_tokens": tokens}, timeout=120
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_answers_equal_the_transformers_specialist(llama_live) -> None:
    url, app, home = llama_live
    body = ask(url, QUESTIONS[0])
    assert body["citations"] and body["answer"]
    settings = load_settings(home=home, reader="generate", engine="local", serve_dtype="float32")
    local = Engine(app.state.runtime.serving.index, load_specialist(settings))
    expected = answer_question(
        local, Question(QUESTIONS[0], 4, 32), AnswerPolicy.from_settings(settings)
    )
    assert body["answer"] == expected.response.answer


def test_concurrent_answers_are_the_answers_alone(llama_live) -> None:
    url, _, _ = llama_live
    alone = [ask(url, q)["answer"] for q in QUESTIONS]
    together: list[str] = [""] * len(QUESTIONS)

    def one(i: int) -> None:
        together[i] = ask(url, QUESTIONS[i])["answer"]

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(QUESTIONS))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert together == alone


def test_a_client_that_hangs_up_leaves_the_batch(llama_live) -> None:
    url, app, _ = llama_live
    body = {"question": QUESTIONS[1], "max_new_tokens": 200, "stream": True}
    with (
        httpx.Client(timeout=120) as client,
        client.stream("POST", f"{url}/ask", json=body) as response,
    ):
        for kind, _ in parse_sse(response.iter_lines()):
            if kind == "token":
                break
    batched = app.state.runtime.serving.specialist.batched
    deadline = time.monotonic() + 20
    while batched._running and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not batched._running, "the request left the engine's batch"


def test_adapter_switch_loads_a_new_engine_and_retires_the_old(llama_live, make_adapter) -> None:
    url, app, home = llama_live
    runtime = app.state.runtime
    old = runtime.serving.specialist
    version = make_adapter(load_settings(home=home), "smollm2-135m")
    reply = httpx.post(f"{url}/adapters/{version}/activate", timeout=300)
    assert reply.status_code == 200, reply.text
    new = runtime.serving.specialist
    assert new.adapter_version == version and new.batched is not old.batched
    assert old.batched._retired
    assert ask(url, QUESTIONS[0])["answer"]


def test_the_default_q8_0_weights_pass_the_self_check_and_answer(start_service, make_home) -> None:
    """The weights users get (q8_0, the shipped adapter folded in), not only float32."""
    home = make_home()
    with start_service(home=home, engine="llama-cpp", reader="generate") as (url, app):
        assert app.state.settings.engine_weights == "q8_0"
        served = app.state.runtime.serving.specialist.batched
        assert served is not None and served.path.name.endswith("-q8_0.gguf")
        checked = list((load_settings(home=home).cache_dir / "llama-selfcheck").glob("*.ok"))
        assert checked, "the engine started without evaluating its weights once"
        body = ask(url, QUESTIONS[0], tokens=48)
        assert body["citations"] and "Alps" in body["answer"]
        summary = httpx.post(
            f"{url}/summarize", json={"source": "rivers/rhine.md", "length": "short"}, timeout=300
        )
        assert summary.status_code == 200 and summary.json()["sentences"]

"""The service generating through a real llama.cpp engine (``SPECIALIST_ENGINE=openai``).

llama-cpp-python's OpenAI-compatible server runs on the shipped SmolLM2 GGUF with every adapter
version converted to a GGUF LoRA by ``specialist engine-config``; nothing is faked. The service
keeps retrieval, the prompt, the reader and citations, and sends only model work to the engine.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from engine.answering import AnswerPolicy, Question, answer_question
from engine.cli import launch_llama_cpp, llama_cpp_config
from engine.loader import load_specialist
from engine.snapshot import Engine
from service.cli import parse_sse
from specialist.adapters import AdapterRegistry
from specialist.prompt import render, summary_request
from specialist.settings import load_settings

pytest.importorskip("llama_cpp.server", reason="the engine extra is not installed (make test does)")
pytestmark = pytest.mark.slow

RHINE = "Where does the Rhine rise?"
DIALOGUE = (
    "#Person1#: Can we move the team meeting to Thursday? #Person2#: Thursday morning is full, "
    "but 3 pm works. #Person1#: 3 pm on Thursday then; I will tell the others."
)


class LlamaCppEngine:
    """llama-cpp-python's server as a subprocess, stopped and started again at will."""

    def __init__(self, config: Path, log: Path, url: str) -> None:
        self.config, self.log, self.url = config, log, url
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start the server and wait until it lists its models."""
        self.process = launch_llama_cpp(self.config, self.log)

    def stop(self) -> None:
        """Stop the server and wait for it to exit."""
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def engine_home(make_home, make_adapter) -> tuple[Path, str]:
    """A home with the shipped adapter current and a second version to switch to."""
    home = make_home()
    second = make_adapter(load_settings(home=home), "smollm2-135m")
    return home, second


@pytest.fixture(scope="module")
def engine(engine_home, pick_port, tmp_path_factory) -> Iterator[LlamaCppEngine]:
    """The llama.cpp engine serving every adapter version of the home, one thread."""
    home, _ = engine_home
    port = pick_port()
    folder = tmp_path_factory.mktemp("engine")
    config = llama_cpp_config(load_settings(home=home), "127.0.0.1", port, 1, 2048)
    (folder / "config.json").write_text(json.dumps(config))
    running = LlamaCppEngine(
        folder / "config.json", folder / "engine.log", f"http://127.0.0.1:{port}/v1"
    )
    running.start()
    yield running
    if running.process.poll() is None:
        running.stop()


@pytest.fixture(scope="module")
def remote_live(engine, engine_home, start_service) -> Iterator[tuple[str, object]]:
    """A live service whose specialist writes its answers on the engine."""
    home, _ = engine_home
    with start_service(
        home=home,
        engine="openai",
        engine_url=engine.url,
        reader="generate",
        generation_workers=1,
        threads=1,
    ) as live:
        yield live


def local_answer(app, settings, question: str) -> str:
    """The answer the in-process specialist gives on the same index, greedy."""
    index = app.state.runtime.serving.index
    local = load_specialist(settings)
    return answer_question(
        Engine(index, local), Question(question, 4, 64), AnswerPolicy.from_settings(settings)
    ).response.answer


def test_ask_answers_through_the_engine_like_the_local_specialist(remote_live, engine_home) -> None:
    url, app = remote_live
    home, _ = engine_home
    reply = httpx.post(f"{url}/ask", json={"question": RHINE, "top_k": 4}, timeout=120)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert "Swiss Alps" in body["answer"]
    assert [c["source"] for c in body["citations"]] == ["rivers/rhine.md"]
    expected = local_answer(app, load_settings(home=home, reader="generate", threads=1), RHINE)
    assert body["answer"] == expected


def test_extractive_reader_judges_on_the_engine(remote_live, engine_home) -> None:
    """The default reader's judge reads the engine's log-probabilities: same pick, same decline."""
    _, app = remote_live
    home, _ = engine_home
    settings = load_settings(home=home, threads=1)
    index = app.state.runtime.serving.index
    remote = app.state.runtime.serving.specialist
    assert remote.remote is not None and remote.model is None
    local = load_specialist(settings)
    policy = AnswerPolicy.from_settings(settings)
    for question in (RHINE, "Who won Super Bowl 50?"):
        asked = Question(question, 4, 64)
        by_engine = answer_question(Engine(index, remote), asked, policy).response.answer
        assert by_engine == answer_question(Engine(index, local), asked, policy).response.answer


def test_evaluations_generate_on_the_engine(remote_live, engine_home) -> None:
    """``eval summarize`` / ``eval all`` batch their prompts through the same switch as /ask."""
    _, app = remote_live
    home, _ = engine_home
    remote = app.state.runtime.serving.specialist
    local = load_specialist(load_settings(home=home, threads=1))
    prompt = render(local.tokenizer, summary_request(DIALOGUE))
    by_engine = remote.generate_batch([prompt], 48)
    assert by_engine[0] and by_engine == local.generate_batch([prompt], 48)


def test_streaming_through_the_engine(remote_live) -> None:
    url, _ = remote_live
    events = []
    with httpx.stream(
        "POST", f"{url}/ask", json={"question": RHINE, "stream": True}, timeout=120
    ) as response:
        assert response.status_code == 200
        events = list(parse_sse(response.iter_lines()))
    tokens = [data["text"] for event, data in events if event == "token"]
    assert len(tokens) > 3
    done = [data for event, data in events if event == "done"]
    assert done and done[0]["answer"] == "".join(tokens).strip()


def test_a_stopped_answer_stops_generating_on_the_engine(remote_live, engine) -> None:
    """Closing the stream is the cancellation: the engine sees the client leave and stops."""
    _, app = remote_live
    remote = app.state.runtime.serving.specialist.remote
    stop = threading.Event()
    pieces = []
    for piece in remote.stream("Count from 1 to 200: 1, 2, 3,", 200, stop):
        pieces.append(piece)
        stop.set()
    assert len(pieces) == 1
    deadline = time.monotonic() + 10
    while "Disconnected from client" not in engine.log.read_text():
        assert time.monotonic() < deadline, "the engine kept generating for a client that left"
        time.sleep(0.2)


def test_an_adapter_the_engine_cannot_serve_is_refused(remote_live, engine_home, make_adapter):
    """Trained after the engine started: 409 with what to do, and the pointer stays."""
    url, _ = remote_live
    home, _ = engine_home
    settings = load_settings(home=home)
    before = AdapterRegistry(settings).current()
    unknown = make_adapter(settings, "smollm2-135m")
    refused = httpx.post(f"{url}/adapters/{unknown}/activate", timeout=120)
    assert refused.status_code == 409
    assert "specialist engine-config" in refused.json()["detail"]
    assert AdapterRegistry(settings).current() == before


def test_adapter_switch_and_rollback_reach_the_engine(remote_live, engine, engine_home) -> None:
    url, _ = remote_live
    home, second = engine_home
    registry = AdapterRegistry(load_settings(home=home))
    first = registry.current()
    gguf = load_settings(home=home).cache_dir / "gguf-lora"

    def engine_loaded(version: str) -> int:
        return engine.log.read_text().count(f"loading lora adapter from '{gguf / version}.gguf'")

    loads_of_first = engine_loaded(first)
    switched = httpx.post(f"{url}/adapters/{second}/activate", timeout=120)
    assert switched.status_code == 200, switched.text
    assert switched.json()["serving"] == second
    reply = httpx.post(f"{url}/ask", json={"question": RHINE}, timeout=120)
    assert reply.status_code == 200 and reply.json()["adapter_version"] == second
    assert engine_loaded(second) == 1
    assert registry.current() == second

    assert registry.rollback() == first  # `specialist adapters rollback`, outside the service
    deadline = time.monotonic() + 10
    while httpx.get(f"{url}/ready", timeout=30).json()["adapter_version"] != first:
        assert time.monotonic() < deadline, "the service did not follow the rollback"
        time.sleep(0.3)
    reply = httpx.post(f"{url}/ask", json={"question": RHINE}, timeout=120)
    assert reply.json()["adapter_version"] == first and "Swiss Alps" in reply.json()["answer"]
    assert engine_loaded(first) == loads_of_first + 1


def test_engine_down_is_a_503_and_recovers_without_a_restart(remote_live, engine) -> None:
    url, _ = remote_live
    engine.stop()
    reply = httpx.post(f"{url}/ask", json={"question": RHINE}, timeout=120)
    assert reply.status_code == 503
    assert reply.headers["Retry-After"] == "5"
    assert "generation engine" in reply.json()["detail"]
    ready = httpx.get(f"{url}/ready", timeout=30)
    assert ready.status_code == 503 and "generation engine" in ready.json()["error"]
    engine.start()
    deadline = time.monotonic() + 30
    while httpx.get(f"{url}/ready", timeout=30).status_code != 200:
        assert time.monotonic() < deadline, "the service did not see the engine come back"
        time.sleep(0.5)
    reply = httpx.post(f"{url}/ask", json={"question": RHINE}, timeout=120)
    assert reply.status_code == 200 and "Rhine" in reply.json()["answer"]

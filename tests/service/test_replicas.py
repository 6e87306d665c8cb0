"""Two ``specialist serve`` processes over one home, as replicas behind a load balancer run.

Each replica follows the versions the other (or any CLI) makes current, writes go one at a time
through the version store's lock, and a replica killed with ``kill -9`` mid-answer takes nothing
down with it: the other keeps answering and every version on disk still loads.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from retrieval.artifacts import read_chunks
from retrieval.indexer import index_store
from retrieval.search import open_index
from service.cli import parse_sse
from specialist.adapters import AdapterRegistry
from specialist.settings import load_settings

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
FOLLOW_WITHIN_S = 10
TUNGSTEN = """# Tungsten

## Properties
Tungsten has the highest melting point of all metals, 3,422 degrees Celsius, and it boils at
5,930 degrees Celsius. Its name comes from the Swedish words for heavy stone.
"""


class Replica:
    """One ``specialist serve`` process on its own port.

    Its specialist writes the answers (``reader="generate"``), so an answer streams for long enough
    to be killed halfway; the versions it follows are the same whichever reader answers.
    """

    def __init__(self, home: Path, docs: Path, log: Path, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "SPECIALIST_HOME": str(home),
            "SPECIALIST_DOCS_DIRS": json.dumps([str(docs)]),
            "SPECIALIST_THREADS": "1",
            "SPECIALIST_GENERATION_WORKERS": "1",
            "SPECIALIST_READER": "generate",
        }
        serve = ["-m", "specialist", "serve", "--host", "127.0.0.1", "--port", str(port)]
        self.process = subprocess.Popen(
            [sys.executable, *serve],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("w"),
        )

    def ready(self, timeout: float = 300) -> dict:
        """``/ready``'s body once the replica serves (fails if it dies or never gets there)."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, "the replica exited"
            try:
                response = httpx.get(f"{self.url}/ready", timeout=5)
                if response.status_code == 200:
                    return response.json()
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the replica never became ready"
            time.sleep(0.3)

    def serves(self, key: str, value: str, within: float) -> float:
        """Seconds until ``/ready`` reports ``key`` = ``value`` (fails after ``within``)."""
        started = time.monotonic()
        while self.ready()[key] != value:
            assert time.monotonic() - started < within, f"{self.url} still serves another {key}"
            time.sleep(0.2)
        return time.monotonic() - started

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture(scope="module")
def replicas(
    tmp_path_factory: pytest.TempPathFactory, make_home, pick_port, documents
) -> Iterator[tuple]:
    """(replica A, replica B, their shared home, their document root), both ready."""
    home = make_home()
    docs = tmp_path_factory.mktemp("replica-docs")
    for relative, text in documents.items():
        (docs / relative).parent.mkdir(parents=True, exist_ok=True)
        (docs / relative).write_text(text)
    logs = tmp_path_factory.mktemp("replica-logs")
    pair = [Replica(home, docs, logs / f"{name}.log", pick_port()) for name in ("a", "b")]
    try:
        for replica in pair:
            replica.ready()
        yield pair[0], pair[1], home, docs
    finally:
        for replica in pair:
            replica.stop()


def test_a_reindex_through_one_replica_is_served_by_the_other(replicas) -> None:
    a, b, home, docs = replicas
    (docs / "science" / "tungsten.md").write_text(TUNGSTEN)
    job = httpx.post(f"{a.url}/reindex", json={"path": str(docs)}, timeout=10).json()
    deadline = time.monotonic() + 300
    while job["state"] not in ("done", "failed"):
        assert time.monotonic() < deadline, "the reindex never finished"
        time.sleep(0.3)
        job = httpx.get(f"{a.url}/reindex/{job['id']}", timeout=10).json()
    assert job["state"] == "done", job
    version = httpx.get(f"{a.url}/ready", timeout=5).json()["index_version"]

    b.serves("index_version", version, FOLLOW_WITHIN_S)
    served = {
        chunk.source for chunk in read_chunks(index_store(load_settings(home=home)).path(version))
    }
    assert any(source.endswith("tungsten.md") for source in served)
    answer = httpx.post(
        f"{b.url}/ask",
        json={"question": "When does tungsten boil?", "max_new_tokens": 8},
        timeout=120,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["index_version"] == version


def test_an_adapter_activated_through_one_replica_is_served_by_the_other(
    replicas, make_adapter
) -> None:
    a, b, home, _ = replicas
    new = make_adapter(load_settings(home=home), "smollm2-135m")
    response = httpx.post(f"{b.url}/adapters/{new}/activate", timeout=120)
    assert response.status_code == 200, response.text
    assert response.json()["serving"] == new

    a.serves("adapter_version", new, FOLLOW_WITHIN_S)


def test_kill_9_mid_answer_leaves_the_other_replica_answering(replicas) -> None:
    a, b, home, _ = replicas
    streaming = threading.Event()

    def ask_a() -> None:
        question = {"question": "Where does the Rhine rise?", "max_new_tokens": 64, "stream": True}
        try:
            with httpx.stream("POST", f"{a.url}/ask", json=question, timeout=120) as response:
                for _ in parse_sse(response.iter_lines()):
                    streaming.set()
        except httpx.HTTPError:
            pass  # the replica died under it, as it should

    asker = threading.Thread(target=ask_a, daemon=True)
    asker.start()
    assert streaming.wait(120), "replica A never started answering"
    os.kill(a.process.pid, signal.SIGKILL)
    a.process.wait(30)
    asker.join(30)

    answer = httpx.post(
        f"{b.url}/ask",
        json={"question": "Where does the Rhine rise?", "max_new_tokens": 8},
        timeout=120,
    )
    assert answer.status_code == 200, answer.text
    settings = load_settings(home=home)
    index = open_index(settings)
    assert index is not None and index.search("Rhine", k=1)
    registry = AdapterRegistry(settings)
    assert registry.current() in [row.version for row in registry.list()]

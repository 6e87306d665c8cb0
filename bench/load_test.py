"""Load test on loopback: 16 clients for 60 s while the index and the adapter are switched.

Starts ``specialist serve`` as a separate process on a scratch home (sharing the converted-model
cache) over a scratch copy of the shipped corpus, so the repository is never modified. Clients
ask XQuAD questions (a quarter of them streamed) and honour ``Retry-After`` on 503. Mid-run, a
file is added and ``POST /reindex`` switches the index; later ``POST /adapters/{v}/activate``
switches the adapter. Passes when: no 5xx other than deliberate 503s (with ``Retry-After``), no
request fails or is dropped, ``/health`` answers throughout, and the server's RSS stays bounded.

    .venv/bin/python bench/load_test.py            # writes bench/results/load_test.json

With ``--engine openai`` the service generates on a real llama.cpp engine (llama-cpp-python's
server, started beside it on the scratch home's adapters converted by ``specialist engine-config``),
and the adapter switch goes through the engine; results go to ``load_test_openai.json``. With
``--engine llama-cpp`` the service generates in-process on llama.cpp with continuous batching
(``load_test_llama-cpp.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from service.cli import parse_sse
from specialist.settings import load_settings

ROOT = Path(__file__).resolve().parent
QUESTIONS = ROOT / "ask_questions.json"
RESULTS = ROOT / "results"


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` in MiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def prepare_adapters(settings) -> tuple[str, str]:
    """Two adapter versions to switch between: the current one and a copy (or two fresh LoRAs)."""
    from specialist.adapters import AdapterRegistry

    registry = AdapterRegistry(settings)
    current = registry.current()
    with registry.store.write_lock():
        if current is None:
            current = write_lora(registry, settings, activate=True)
        source = registry.path(current)
        with registry.store.new_version(activate=False) as pending:
            for item in source.iterdir():
                if item.is_file():
                    shutil.copy2(item, pending.path / item.name)
    return current, pending.name


def write_lora(registry, settings, activate: bool) -> str:
    """A real LoRA adapter at its initialization (it answers like the base model)."""
    from peft import LoraConfig, get_peft_model

    from specialist.models import load_base_model

    model, _ = load_base_model(settings)
    peft_model = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
    with registry.store.new_version(activate=activate) as pending:
        peft_model.save_pretrained(pending.path)
        (pending.path / "metrics.json").write_text(json.dumps({"base_model": settings.base_model}))
    return pending.name


def start_engine(settings, scratch: Path, port: int, threads: int) -> subprocess.Popen:
    """llama.cpp's server on every adapter version of the scratch home, once it serves."""
    from engine.cli import launch_llama_cpp, llama_cpp_config

    config = scratch / "engine.json"
    config.write_text(json.dumps(llama_cpp_config(settings, "127.0.0.1", port, threads, 2048)))
    return launch_llama_cpp(config, scratch / "engine.log")


class Client(threading.Thread):
    """Asks questions until the deadline, honouring Retry-After."""

    def __init__(self, url: str, questions: list[dict], deadline: float, seed: int) -> None:
        super().__init__(daemon=True)
        self.url, self.questions, self.deadline = url, questions, deadline
        self.random = random.Random(seed)
        self.records: list[dict] = []

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=300) as client:
            while time.monotonic() < self.deadline:
                question = self.random.choice(self.questions)["question"]
                stream = self.random.random() < 0.25
                body = {"question": question, "max_new_tokens": 32, "stream": stream}
                started = time.monotonic()
                record = {"start": started, "stream": stream}
                try:
                    if stream:
                        with client.stream("POST", "/ask", json=body) as response:
                            record["status"] = response.status_code
                            events = list(parse_sse(response.iter_lines()))
                            if response.status_code == 200:
                                record["complete"] = events[-1][0] == "done"
                                record["versions"] = (
                                    events[-1][1].get("index_version"),
                                    events[-1][1].get("adapter_version"),
                                )
                            else:
                                record["retry_after"] = response.headers.get("retry-after")
                    else:
                        response = client.post("/ask", json=body)
                        record["status"] = response.status_code
                        if response.status_code == 200:
                            data = response.json()
                            record["complete"] = "answer" in data
                            record["versions"] = data["index_version"], data["adapter_version"]
                        else:
                            record["retry_after"] = response.headers.get("retry-after")
                except httpx.HTTPError as exc:
                    record["status"] = None
                    record["error"] = f"{type(exc).__name__}: {exc}"
                record["seconds"] = time.monotonic() - started
                self.records.append(record)
                if record.get("status") == 503:
                    time.sleep(min(float(record.get("retry_after") or 1), 5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--out", type=Path, default=None, help="default: results/load_test*.json")
    parser.add_argument(
        "--engine",
        choices=("local", "llama-cpp", "openai"),
        default="local",
        help="generate in the service with transformers (local) or llama.cpp batching "
        "(llama-cpp), or on a llama.cpp engine beside it (openai)",
    )
    parser.add_argument("--engine-port", type=int, default=8767)
    parser.add_argument(
        "--engine-threads", type=int, default=1, help="threads of the llama.cpp engine"
    )
    args = parser.parse_args()
    suffix = "" if args.engine == "local" else f"_{args.engine}"
    args.out = args.out or RESULTS / f"load_test{suffix}.json"

    base = load_settings()
    scratch = Path(tempfile.mkdtemp(prefix="specialist-load-"))
    home, docs = scratch / "home", scratch / "docs"
    home.mkdir()
    base.cache_dir.mkdir(parents=True, exist_ok=True)
    (home / "cache").symlink_to(base.cache_dir, target_is_directory=True)
    shutil.copytree(base.docs_dirs[0], docs)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "SPECIALIST_HOME": str(home),
        "SPECIALIST_DOCS_DIRS": json.dumps([str(docs)]),
        "SPECIALIST_PORT": str(args.port),
    }
    settings = load_settings(home=home, docs_dirs=[docs])
    old_adapter, new_adapter = prepare_adapters(settings)
    engine = None
    env["SPECIALIST_ENGINE"] = args.engine
    if args.engine == "openai":
        engine = start_engine(settings, scratch, args.engine_port, args.engine_threads)
        env["SPECIALIST_ENGINE_URL"] = f"http://127.0.0.1:{args.engine_port}/v1"
    log = (scratch / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "specialist.cli", "serve"], env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{args.port}"
    questions = json.loads(QUESTIONS.read_text())["questions"]
    result: dict = {
        "clients": args.clients,
        "seconds": args.seconds,
        "engine": args.engine,
        "reader": settings.reader,
    }
    try:
        started = time.monotonic()
        while True:
            try:
                if httpx.get(url + "/ready", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() - started > 600:
                raise SystemExit(f"server did not become ready; see {scratch / 'server.log'}")
            time.sleep(1)
        result["ready_after_s"] = round(time.monotonic() - started, 1)
        index_before = httpx.get(url + "/ready").json()["index_version"]
        rss_idle = rss_mb(server.pid)

        t0 = time.monotonic()
        deadline = t0 + args.seconds
        clients = [Client(url, questions, deadline, seed) for seed in range(args.clients)]
        for client in clients:
            client.start()
        health: list[tuple[float, int | None, float]] = []
        rss: list[tuple[float, float]] = []
        events: dict = {}
        reindex_job = None
        while time.monotonic() < deadline:
            now = time.monotonic() - t0
            begin = time.monotonic()
            try:
                status = httpx.get(url + "/health", timeout=5).status_code
            except httpx.HTTPError:
                status = None
            health.append((now, status, time.monotonic() - begin))
            rss.append((now, rss_mb(server.pid)))
            if "reindex" not in events and now > args.seconds / 4:
                (docs / "Load_test_note.md").write_text(
                    "# Load test note\n\nThis article was added while the load test was running."
                )
                response = httpx.post(url + "/reindex", json={}, timeout=30)
                reindex_job = response.json().get("id")
                events["reindex"] = {"at_s": round(now, 1), "status": response.status_code}
            if reindex_job and "reindex_done" not in events:
                job = httpx.get(f"{url}/reindex/{reindex_job}", timeout=30).json()
                if job["state"] in ("done", "failed"):
                    events["reindex_done"] = {
                        "at_s": round(now, 1),
                        "state": job["state"],
                        "version": (job.get("report") or {}).get("version"),
                    }
            if "adapter" not in events and now > args.seconds / 2:
                response = httpx.post(f"{url}/adapters/{new_adapter}/activate", timeout=300)
                events["adapter"] = {
                    "at_s": round(now, 1),
                    "status": response.status_code,
                    "took_s": round(time.monotonic() - t0 - now, 1),
                    "from": old_adapter,
                    "to": new_adapter,
                }
            time.sleep(0.5)
        for client in clients:
            client.join(300)
        records = [r for client in clients for r in client.records]
        final = httpx.get(url + "/ready").json()
        statuses: dict[str, int] = {}
        for record in records:
            statuses[str(record.get("status"))] = statuses.get(str(record.get("status")), 0) + 1
        ok = [r for r in records if r.get("status") == 200]
        bad = [r for r in records if r.get("status") not in (200, 503)]
        incomplete = [r for r in ok if not r.get("complete")]
        no_retry_after = [r for r in records if r.get("status") == 503 and not r.get("retry_after")]
        health_failures = [h for h in health if h[1] != 200]
        rss_values = [value for _, value in rss]
        versions_seen = sorted({tuple(map(str, r["versions"])) for r in ok if "versions" in r})
        result.update(
            {
                "requests": len(records),
                "statuses": statuses,
                "answered": len(ok),
                "p50_latency_s": round(statistics.median(r["seconds"] for r in ok), 2)
                if ok
                else None,
                "failed_or_dropped": len(bad) + len(incomplete),
                "failures": [r.get("error") or r.get("status") for r in bad][:10],
                "deliberate_503_without_retry_after": len(no_retry_after),
                "health_checks": len(health),
                "health_failures": len(health_failures),
                "health_max_latency_s": round(max(h[2] for h in health), 3),
                "rss_idle_mb": round(rss_idle, 1),
                "rss_max_mb": round(max(rss_values), 1),
                "rss_end_mb": round(rss_values[-1], 1),
                "events": events,
                "index_before": index_before,
                "served_after": final,
                "versions_answered_with": versions_seen,
            }
        )
        result["passed"] = (
            not bad
            and not incomplete
            and not no_retry_after
            and not health_failures
            and events.get("reindex_done", {}).get("state") == "done"
            and events.get("adapter", {}).get("status") == 200
            and final["adapter_version"] == new_adapter
            and final["index_version"] != index_before
            and result["rss_max_mb"] < result["rss_idle_mb"] + 2048
        )
        if engine is not None:
            result["engine_rss_end_mb"] = round(rss_mb(engine.pid), 1)
    finally:
        for process in (server, engine):
            if process is None:
                continue
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()
    print(f"{'requests':<34}{result.get('requests')}")
    for key in (
        "statuses",
        "answered",
        "p50_latency_s",
        "failed_or_dropped",
        "deliberate_503_without_retry_after",
        "health_checks",
        "health_failures",
        "health_max_latency_s",
        "rss_idle_mb",
        "rss_max_mb",
        "rss_end_mb",
        "engine_rss_end_mb",
        "events",
        "versions_answered_with",
        "passed",
    ):
        print(f"{key:<34}{result.get(key)}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")
    shutil.rmtree(scratch, ignore_errors=True)
    sys.exit(0 if result.get("passed") else 1)


if __name__ == "__main__":
    main()

"""``specialist engine-config``: the configuration of a llama.cpp engine serving every adapter.

llama-cpp-python's OpenAI-compatible server (``python -m llama_cpp.server --config_file FILE``)
serves one model entry per name. This command converts each adapter version in the registry to a
GGUF LoRA (:mod:`engine.gguf_lora`) and writes one entry per version, named by the version, on
the shipped GGUF base, plus the base model alone as ``base``: the names the service asks for with
``SPECIALIST_ENGINE=openai``. After training a new adapter, run it again and restart the engine.
The judge reads echoed prompt log-probabilities, so every entry sets ``logits_all``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from engine.gguf_lora import base_gguf, export_version
from engine.remote import BASE_NAME, RemoteEngine
from engine.selfcheck import check_gguf
from specialist.settings import Settings, load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    """Attach the ``engine-config`` subcommand."""
    parser = subparsers.add_parser(
        "engine-config",
        help="write a llama.cpp server configuration that serves every adapter version",
    )
    parser.add_argument("--out", type=Path, required=True, help="the JSON file to write")
    parser.add_argument("--host", default="127.0.0.1", help="address the engine binds to")
    parser.add_argument("--port", type=int, default=8080, help="port the engine listens on")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads per request (default: SPECIALIST_THREADS)",
    )
    parser.add_argument(
        "--context", type=int, default=2048, help="context window in tokens (prompt + answer)"
    )
    parser.set_defaults(handler=run)


def llama_cpp_config(
    settings: Settings, host: str, port: int, threads: int, context: int
) -> dict[str, Any]:
    """The server configuration, converting adapters to GGUF under ``<home>/cache/gguf-lora``.

    Every entry is evaluated once by llama.cpp first (:mod:`engine.selfcheck`), so a build that
    crashes on this CPU is refused here with one sentence, not by a server dying mid-request.
    """
    from specialist.adapters import AdapterRegistry

    common = {
        "model": str(base_gguf(settings)),
        "n_ctx": context,
        "n_threads": threads,
        "n_threads_batch": threads,
        "logits_all": True,
        "verbose": True,
    }
    models = [{**common, "model_alias": BASE_NAME}]
    registry = AdapterRegistry(settings)
    registry.ensure_default()
    for row in registry.list():
        if row.base_model != settings.base_model:
            continue
        lora = export_version(settings, row.version)
        models.append({**common, "model_alias": row.version, "lora_path": str(lora)})
    for model in models:
        lora_path = model.get("lora_path")
        check_gguf(
            Path(model["model"]),
            Path(lora_path) if lora_path else None,
            threads,
            settings.cache_dir,
        )
    return {"host": host, "port": port, "models": models}


def run(args: argparse.Namespace) -> int:
    """Write the configuration atomically and say how to start the engine with it."""
    settings = load_settings()
    config = llama_cpp_config(
        settings, args.host, args.port, args.threads or settings.threads, args.context
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_name(f".{args.out.name}.partial")
    partial.write_text(json.dumps(config, indent=2) + "\n")
    os.replace(partial, args.out)
    names = ", ".join(model["model_alias"] for model in config["models"])
    print(f"wrote {args.out}: {len(config['models'])} models ({names})")
    print(f"start the engine: python -m llama_cpp.server --config_file {args.out}")
    return 0


def launch_llama_cpp(config: Path, log: Path, timeout: float = 120) -> subprocess.Popen:
    """Start llama-cpp-python's server on ``config`` (its output to ``log``); return once it serves.

    Used by the tests and the load test, which run a real engine beside the service.
    """
    settings = json.loads(config.read_text())
    url = f"http://{settings['host']}:{settings['port']}/v1"
    output = log.open("a")
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--config_file", str(config)],
        stdout=output,
        stderr=output,
    )
    deadline = time.monotonic() + timeout
    probe = RemoteEngine(url)
    while probe.available() is not None:
        if process.poll() is not None:
            raise RuntimeError(f"the engine exited with code {process.returncode}; see {log}")
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the engine did not list its models within {timeout:.0f} s")
        time.sleep(0.3)
    return process

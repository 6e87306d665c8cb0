"""Crash trials: ``kill -9`` of ``specialist index`` and ``specialist train`` at random moments.

Each trial starts the command in a process of its own, kills it with SIGKILL after a random delay
(uniform over the command's measured duration), checks what is being served, then runs the next
command to its end (the same ``index``, or ``train --resume``) and checks again. Counted:

- **corrupt**: a state in which the current index does not open and answer a search, or the
  current adapter is missing a file (must be 0);
- **previous kept serving** / **new version serving**: after a kill before the command exited,
  the current version is either the previous one (killed before the switch) or the complete new
  one (killed after the switch, while pruning or reporting); anything else counts as corrupt;
- **resumed**: ``train --resume`` runs that continued from a checkpoint instead of step 0 (only
  possible when the kill came after the first checkpoint).

Usage: ``python bench/crash_trials.py [--trials 20] [--seed 0]`` (index trials reuse the
shipped ``corpora/xquad`` articles, edited between trials so every run has work to do).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from retrieval.search import open_index  # noqa: E402
from specialist.adapters import AdapterRegistry, adapter_problem  # noqa: E402
from specialist.models import load_embedder  # noqa: E402
from specialist.settings import load_settings  # noqa: E402

TRAIN_CONFIG = {
    "lora_r": 8,
    "lora_alpha": 16,
    "learning_rate": 0.002,
    "batch_size": 2,
    "grad_accumulation": 1,
    "max_seq_length": 192,
    "max_steps": 6,
    "warmup_steps": 1,
    "eval_every": 2,
    "checkpoint_every": 2,
    "dev_fraction": 0.2,
    "dev_max": 2,
    "early_stopping_patience": 0,
}


def command(*args: str) -> list[str]:
    """``specialist ARGS`` with this interpreter."""
    return [sys.executable, "-m", "specialist.cli", *args]


def run_and_kill(args: list[str], env: dict[str, str], delay: float) -> bool:
    """Run ``args``, SIGKILL it after ``delay`` seconds; True when it finished first."""
    process = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        process.wait(timeout=delay)
        return True
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return False


def timed(args: list[str], env: dict[str, str]) -> float:
    """Seconds ``args`` takes to finish (a failure stops the trials)."""
    started = time.perf_counter()
    subprocess.run(args, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def index_sound(settings, embedder) -> tuple[bool, str | None]:
    """Whether the current index opens and answers a search, and its version."""
    try:
        index = open_index(settings, embedder)
        return bool(index and index.search("oxygen", k=3)), index.version if index else None
    except Exception:  # any failure to open or search is corruption
        return False, None


def adapter_sound(settings) -> tuple[bool, str | None]:
    """Whether the current adapter is complete, and its version."""
    registry = AdapterRegistry(settings)
    version = registry.current()
    return version is not None and adapter_problem(registry.path(version)) is None, version


def index_trials(trials: int, rng: random.Random, work: Path, env: dict[str, str]) -> dict:
    """Kill ``specialist index`` at random moments, then index again."""
    docs = work / "docs"
    shutil.copytree(ROOT / "corpora" / "xquad", docs)
    settings = load_settings(home=Path(env["SPECIALIST_HOME"]))
    embedder = load_embedder(settings)
    index = command("index", str(docs))
    timed(index, env)
    files = sorted(docs.glob("*.md"))

    def edit(label: str) -> None:
        for path in rng.sample(files, 6):
            path.write_text(path.read_text() + f"\nEdited in crash trial {label}.\n")

    edit("warm-up")
    duration = timed(index, env)  # what a trial's run takes: six edited files to reindex
    counts = {"trials": trials, "corrupt": 0, "killed_mid_run": 0}
    counts |= {"previous_kept_serving": 0, "new_version_serving": 0}
    for trial in tqdm(range(trials), desc="index trials", unit="trial"):
        edit(str(trial))
        _, before = index_sound(settings, embedder)
        finished = run_and_kill(index, env, rng.uniform(0.2, duration))
        sound, after = index_sound(settings, embedder)
        counts["corrupt"] += not sound
        if not finished:
            counts["killed_mid_run"] += 1
            counts["previous_kept_serving"] += sound and after == before
            counts["new_version_serving"] += sound and after != before
        timed(index, env)
        counts["corrupt"] += not index_sound(settings, embedder)[0]
    return counts


def train_trials(trials: int, rng: random.Random, work: Path, env: dict[str, str]) -> dict:
    """Kill ``specialist train`` at random moments, then run it again with ``--resume``."""
    settings = load_settings(home=Path(env["SPECIALIST_HOME"]))
    data = work / "train.jsonl"
    lines = (ROOT / "corpora/training/dialogsum_train.jsonl").read_text().splitlines()[:16]
    data.write_text("\n".join(lines) + "\n")
    config = work / "config.json"
    counts = {"trials": trials, "corrupt": 0, "killed_mid_run": 0}
    counts |= {"previous_kept_serving": 0, "new_version_serving": 0}
    counts |= {"killed_after_a_checkpoint": 0, "resumed": 0}
    duration = None
    for trial in tqdm(range(trials), desc="train trials", unit="trial"):
        config.write_text(json.dumps({**TRAIN_CONFIG, "seed": 1000 + trial}))
        train = command("train", "--config", str(config), "--data", str(data))
        if duration is None:
            duration = timed(train, env)
            config.write_text(json.dumps({**TRAIN_CONFIG, "seed": 2000 + trial}))
            train = command("train", "--config", str(config), "--data", str(data))
        _, before = adapter_sound(settings)
        finished = run_and_kill(train, env, rng.uniform(1.0, duration))
        sound, after = adapter_sound(settings)
        counts["corrupt"] += not sound
        checkpoint = any((settings.home / "training").glob("*/checkpoint-*/trainer_state.json"))
        if not finished:
            counts["killed_mid_run"] += 1
            counts["previous_kept_serving"] += sound and after == before
            counts["new_version_serving"] += sound and after != before
            counts["killed_after_a_checkpoint"] += checkpoint
        timed([*train, "--resume"], env)
        sound, version = adapter_sound(settings)
        counts["corrupt"] += not sound
        metrics = json.loads(
            (settings.adapters_dir / "versions" / version / "metrics.json").read_text()
        )
        counts["resumed"] += bool(not finished and metrics["train"]["resumed_from_steps"])
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20, help="trials per command")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/crash_trials.json")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    shared = load_settings()
    with tempfile.TemporaryDirectory(prefix="crash-trials-") as scratch:
        work = Path(scratch)
        home = work / "home"
        home.mkdir()
        shared.cache_dir.mkdir(parents=True, exist_ok=True)
        (home / "cache").symlink_to(shared.cache_dir, target_is_directory=True)
        env = {**os.environ, "SPECIALIST_HOME": str(home), "SPECIALIST_THREADS": "2"}
        started = time.perf_counter()
        result = {
            "index": index_trials(args.trials, rng, work, env),
            "train": train_trials(args.trials, rng, work, env),
            "seed": args.seed,
            "seconds": round(time.perf_counter() - started, 1),
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    keys = list(result["train"])
    print("| command | " + " | ".join(keys) + " |")
    print("| --- |" + " ---: |" * len(keys))
    for name in ("index", "train"):
        print(
            f"| specialist {name} | "
            + " | ".join(str(result[name].get(k, "")) for k in keys)
            + " |"
        )
    return 1 if result["index"]["corrupt"] or result["train"]["corrupt"] else 0


if __name__ == "__main__":
    sys.exit(main())

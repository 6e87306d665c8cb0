"""An adapter version as a GGUF LoRA file, the form llama.cpp applies to the shipped GGUF base.

The registry stores adapters as peft safetensors. llama.cpp reads LoRA adapters as GGUF files
whose tensors are named like the base model's (``blk.3.attn_q.weight.lora_a``). llama.cpp's own
``convert_lora_to_gguf.py`` ships only in its source tree, so the conversion is done here with the
``gguf`` package the loader already depends on.

Two details make the file match the base model llama.cpp loads:

- a Llama GGUF stores the query and key projections with their rows permuted for its rotary
  embedding layout, so the LoRA ``B`` matrices of those projections are permuted the same way
  (``A`` acts on the input side, which is not permuted);
- ``A`` is stored as ``(rank, in)`` and ``B`` as ``(out, rank)``, as peft keeps them; llama.cpp
  scales their product by ``alpha / rank`` from the file's ``adapter.lora.alpha``.

The file is written aside and renamed into place, so an engine never reads half of one.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from specialist.adapters import ADAPTER_WEIGHTS
from specialist.errors import UserError
from specialist.settings import Settings

if TYPE_CHECKING:
    import gguf

ARCHITECTURE = "llama"
"""Both base models' GGUF architecture families that this exporter knows the layout of."""
PEFT_NAME = re.compile(
    r"^base_model\.model\.(?P<module>model\.layers\.(?P<block>\d+)\.[\w.]+?)"
    r"\.lora_(?P<part>[AB])\.weight$"
)


def rope_permute(weights: np.ndarray, heads: int) -> np.ndarray:
    """Rows of a query/key projection in llama.cpp's rotary layout (as its base conversion does)."""
    rows = weights.shape[0]
    return (
        weights.reshape(heads, 2, rows // heads // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def gguf_tensors(
    state: dict[str, np.ndarray], blocks: int, heads: int, kv_heads: int
) -> dict[str, np.ndarray]:
    """peft's LoRA tensors under llama.cpp's names, the query/key ``B`` matrices permuted."""
    import gguf

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, blocks)
    tensors: dict[str, np.ndarray] = {}
    for key, value in sorted(state.items()):
        match = PEFT_NAME.match(key)
        if match is None:
            raise UserError(f"adapter tensor {key!r} is not a LoRA A/B weight of a decoder layer")
        module, part = match["module"], match["part"]
        target = names.get_name(module + ".weight", try_suffixes=(".weight",))
        if target is None:
            raise UserError(f"llama.cpp has no tensor for adapter module {module!r}")
        if part == "B" and module.endswith("q_proj"):
            value = rope_permute(value, heads)
        elif part == "B" and module.endswith("k_proj"):
            value = rope_permute(value, kv_heads)
        tensors[f"{target}.lora_{part.lower()}"] = np.ascontiguousarray(value, dtype=np.float32)
    return tensors


def export_version(settings: Settings, version: str) -> Path:
    """Adapter ``version`` of the registry as ``<home>/cache/gguf-lora/<version>.gguf``."""
    from specialist.adapters import AdapterRegistry
    from specialist.models import ensure_converted

    return export_gguf_lora(
        AdapterRegistry(settings).path(version),
        ensure_converted(settings) / "config.json",
        settings.cache_dir / "gguf-lora" / f"{version}.gguf",
    )


def base_gguf(settings: Settings) -> Path:
    """The GGUF file of the configured base model, which the exported adapters apply to."""
    from specialist.models import BASE_MODELS

    return BASE_MODELS[settings.base_model].locate_gguf(settings.cache_dir)


def export_gguf_lora(adapter: Path, base_config: Path, target: Path) -> Path:
    """Write the adapter in folder ``adapter`` as a GGUF LoRA at ``target`` (atomically).

    ``base_config`` is the base model's ``config.json`` (layer and head counts).
    """
    import gguf
    from safetensors.numpy import load_file

    config = json.loads(base_config.read_text())
    lora = json.loads((adapter / "adapter_config.json").read_text())
    state = load_file(adapter / ADAPTER_WEIGHTS)
    heads = int(config["num_attention_heads"])
    tensors = gguf_tensors(
        state,
        int(config["num_hidden_layers"]),
        heads,
        int(config.get("num_key_value_heads") or heads),
    )
    with atomic_gguf(target) as writer:
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(lora["lora_alpha"]))
        for name, value in tensors.items():
            writer.add_tensor(name, value)
    return target


@contextmanager
def atomic_gguf(target: Path) -> Iterator[gguf.GGUFWriter]:
    """A GGUF writer whose file appears at ``target`` only once complete (an engine may be
    reading the previous one); after an error nothing is left behind."""
    import gguf

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.partial")
    writer = gguf.GGUFWriter(str(partial), ARCHITECTURE)
    try:
        yield writer
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    except BaseException:
        writer.close()
        partial.unlink(missing_ok=True)
        raise
    writer.close()
    os.replace(partial, target)

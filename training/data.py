"""Training examples: reading and validating JSONL, and converting public summary sets into it.

An example's ``prompt`` is the *user request* (for instance ``summary_request(document)``), not the
rendered chat text. The chat template is applied at training time by ``specialist.prompt.render``,
the same function the service calls for ``/ask``, so training and serving produce byte-identical
prompts by construction, and one data file serves every base model (SmolLM2's chat template and
Gemma's plain layout differ).

Accepted line formats::

    {"prompt": "<user request>", "completion": "<answer>"}
    {"messages": [{"role": "system", ...}?, {"role": "user", ...}, {"role": "assistant", ...}]}

A chat example's system message, when present, must be the project's own ``SYSTEM`` text: the
service always sends that one, so training on another would teach something never used.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from specialist.errors import UserError
from specialist.prompt import SYSTEM, summary_request


@dataclass(frozen=True)
class Example:
    """One supervised pair: a user request and the answer the specialist should give."""

    prompt: str
    completion: str


def _parse_messages(messages: object) -> Example:
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise ValueError('"messages" must be a list of {"role", "content"} objects')
    roles = [m.get("role") for m in messages]
    contents = [m.get("content") for m in messages]
    if not all(isinstance(c, str) and c.strip() for c in contents):
        raise ValueError("every message needs a non-empty string 'content'")
    if roles and roles[0] == "system":
        if contents[0].strip() != SYSTEM:
            raise ValueError("a system message must be the project's own prompt.SYSTEM text")
        roles, contents = roles[1:], contents[1:]
    if roles != ["user", "assistant"]:
        raise ValueError("messages must be one user turn followed by one assistant turn")
    return Example(prompt=contents[0], completion=contents[1])


def parse_line(line: str) -> Example:
    """One JSONL line as an :class:`Example`; ``ValueError`` saying what is wrong otherwise."""
    record = json.loads(line)
    if not isinstance(record, dict):
        raise ValueError("expected a JSON object")
    if "messages" in record:
        return _parse_messages(record["messages"])
    prompt, completion = record.get("prompt"), record.get("completion")
    if not isinstance(prompt, str) or not isinstance(completion, str):
        raise ValueError('expected string fields "prompt" and "completion", or "messages"')
    if not prompt.strip() or not completion.strip():
        raise ValueError('"prompt" and "completion" must not be empty')
    return Example(prompt=prompt, completion=completion)


def read_examples(path: Path) -> list[Example]:
    """Every example in a JSONL file; a malformed line is reported as ``file:line: reason``."""
    if not path.is_file():
        raise UserError(f"{path}: no such data file")
    examples = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                examples.append(parse_line(line))
            except ValueError as exc:
                raise UserError(f"{path}:{number}: {exc}") from None
    if not examples:
        raise UserError(f"{path}: holds no examples (the file is empty)")
    return examples


def sha256_file(path: Path) -> str:
    """Hex digest recorded in an adapter's metrics so a run names exactly what it learned from."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_examples(path: Path, examples: Iterable[Any]) -> int:
    """Write dataclass records (``prompt``, ``completion``, maybe more) as JSONL atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    count = 0
    with tmp.open("w", encoding="utf-8") as handle:
        for example in examples:
            handle.write(json.dumps(asdict(example), ensure_ascii=False) + "\n")
            count += 1
    os.replace(tmp, path)
    return count


def read_records(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, JSON object) for each non-empty line of a source file."""
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise UserError(f"{path}:{number}: {exc}") from None
            if not isinstance(record, dict):
                raise UserError(f"{path}:{number}: expected a JSON object")
            yield number, record


def _field(path: Path, number: int, record: dict, name: str) -> str:
    value = record.get(name)
    if not isinstance(value, str) or not value.strip():
        raise UserError(f"{path}:{number}: missing string field {name!r}")
    return value.strip()


def normalize_text(text: str) -> str:
    """Case- and whitespace-insensitive key used to find duplicate documents.

    DialogSum's duplicates differ in letter case and trailing spaces (1 train/test, 33 train/dev
    and 645 in-train pairs are found this way, as documented with the data).
    """
    return " ".join(text.lower().split())


def summary_examples(
    path: Path, document_field: str, summary_field: str, exclude: set[str] | None = None
) -> list[Example]:
    """Summary pairs from a ``{document, summary}``-style file, deduplicated.

    Documents already seen earlier in the file, or listed in ``exclude`` (normalized dev/test
    documents), are dropped so that no evaluation document leaks into training.
    """
    seen = set(exclude or ())
    examples = []
    for number, record in read_records(path):
        document = _field(path, number, record, document_field)
        key = normalize_text(document)
        if key in seen:
            continue
        seen.add(key)
        summary = _field(path, number, record, summary_field)
        examples.append(Example(prompt=summary_request(document), completion=summary))
    if not examples:
        raise UserError(f"{path}: no usable {document_field!r}/{summary_field!r} records")
    return examples


def document_keys(paths: Iterable[Path], document_field: str) -> set[str]:
    """Normalized documents of the given files (the evaluation splits to keep out of training)."""
    return {
        normalize_text(_field(path, number, record, document_field))
        for path in paths
        for number, record in read_records(path)
    }


def sample(examples: list[Example], limit: int | None, seed: int) -> list[Example]:
    """A reproducible random subset of at most ``limit`` examples (all of them when None)."""
    if limit is None or limit >= len(examples):
        return list(examples)
    return random.Random(seed).sample(examples, limit)


FORMATS = {"dialogsum": ("dialogue", "summary"), "document-summary": ("document", "summary")}
"""Known source layouts: (document field, summary field)."""

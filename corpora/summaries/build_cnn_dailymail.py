"""Rebuild the CNN/DailyMail slice in ``corpora/summaries/cnn_dailymail/`` from fetched repositories.

The slice was drawn from public GitHub snapshots that hold Hugging Face exports of
CNN/DailyMail 3.0.0 (``article``, ``highlights``, ``id``) in files small enough to fetch:

* test documents: ``data/cnn_dailymail_test.csv`` of MANUJMEHROTRA/model_hosting_e2e_decoder
  (the first 500 rows of the official test split);
* training documents: ``data/collection/cnn_dailymail_validation_subset.csv`` of
  hillaryke/rag-optimization-cnn-dailymail and ``data/cnn_dailymail_validation.csv`` of
  MANUJMEHROTRA/model_hosting_e2e_decoder (rows of the official *validation* split; no export
  of the train split small enough to fetch was found);
* split membership: ``url_lists/all_test.txt`` and ``url_lists/all_val.txt`` of
  abisee/cnn-dailymail. A CNN/DailyMail ``id`` is the SHA-1 of the story's URL, so every record
  is checked against the official split lists before it is used.

Filter: documents of at most 450 whitespace-separated words (kept whole, never truncated) with a
non-empty summary; duplicates (same id or same case/whitespace-normalized text) are dropped, and a
validation document whose normalized text is also a test document is dropped from training.
Sampling uses ``random.Random(SEED)`` over the candidates sorted by id.

Usage (each argument is a git directory brought in by the search tool's ``fetch``)::

    python corpora/summaries/build_cnn_dailymail.py \\
        --manuj /work/.mirror/MANUJMEHROTRA+model_hosting_e2e_decoder/repo \\
        --hillaryke /work/.mirror/hillaryke+rag-optimization-cnn-dailymail/repo \\
        --abisee /work/.mirror/abisee+cnn-dailymail/repo
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import random
import subprocess
from pathlib import Path

SEED = 1234
MAX_WORDS = 450
TRAIN_SIZE = 600
TEST_SIZE = 150

MANUJ_COMMIT = "7c9b1c24e32ed0c883c0da6e977f9dcdb709b7bf"
HILLARYKE_COMMIT = "03d05440507618d6bec073b46543696e5a47df20"
ABISEE_COMMIT = "b15ad0a2db0d407a84b8ca9b5731e1f1c4bd24b9"

TEST_SOURCES = [("manuj", MANUJ_COMMIT, "data/cnn_dailymail_test.csv")]
VALIDATION_SOURCES = [
    ("hillaryke", HILLARYKE_COMMIT, "data/collection/cnn_dailymail_validation_subset.csv"),
    ("manuj", MANUJ_COMMIT, "data/cnn_dailymail_validation.csv"),
]


def git_show(repo: Path, commit: str, path: str) -> str:
    """The text of ``path`` at ``commit`` in the git directory ``repo``."""
    result = subprocess.run(
        ["git", "-C", str(repo), "show", f"{commit}:{path}"],
        check=True,
        capture_output=True,
    )
    return result.stdout.decode("utf-8")


def split_ids(repo: Path, name: str) -> set[str]:
    """CNN/DailyMail ids (SHA-1 of the URL) of one official url list."""
    text = git_show(repo, ABISEE_COMMIT, f"url_lists/{name}")
    return {hashlib.sha1(line.strip().encode()).hexdigest() for line in text.splitlines() if line}


def normalize(text: str) -> str:
    """Same key as ``training.data.normalize_text``: case- and whitespace-insensitive."""
    return " ".join(text.lower().split())


def read_rows(repos: dict[str, Path], sources: list[tuple[str, str, str]]) -> list[dict]:
    csv.field_size_limit(1 << 30)
    rows = []
    for repo_name, commit, path in sources:
        text = git_show(repos[repo_name], commit, path)
        rows.extend(csv.DictReader(io.StringIO(text)))
    return rows


def candidates(rows: list[dict], allowed: set[str], split: str) -> list[dict]:
    """Records of one split: checked against the url list, deduplicated, filtered by length."""
    seen_ids: set[str] = set()
    seen_texts: set[str] = set()
    kept = []
    for row in rows:
        record_id = row["id"].strip()
        if record_id not in allowed:
            raise SystemExit(f"{record_id} is not in the official {split} url list")
        document, summary = row["article"].strip(), row["highlights"].strip()
        key = normalize(document)
        if record_id in seen_ids or key in seen_texts:
            continue
        seen_ids.add(record_id)
        seen_texts.add(key)
        if summary and len(document.split()) <= MAX_WORDS:
            kept.append({"id": record_id, "document": document, "summary": summary})
    return sorted(kept, key=lambda record: record["id"])


def sample(records: list[dict], size: int, rng: random.Random) -> list[dict]:
    chosen = records if len(records) <= size else rng.sample(records, size)
    return sorted(chosen, key=lambda record: record["id"])


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def describe(name: str, path: Path, records: list[dict]) -> None:
    words = sum(len(r["document"].split()) for r in records) / len(records)
    summary_words = sum(len(r["summary"].split()) for r in records) / len(records)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    print(
        f"{name}: {len(records)} records, mean document {words:.1f} words, "
        f"mean summary {summary_words:.1f} words, sha256 {digest}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--manuj", type=Path, required=True)
    parser.add_argument("--hillaryke", type=Path, required=True)
    parser.add_argument("--abisee", type=Path, required=True)
    parser.add_argument(
        "--out-dir", type=Path, default=Path(__file__).resolve().parent / "cnn_dailymail"
    )
    args = parser.parse_args()
    repos = {"manuj": args.manuj, "hillaryke": args.hillaryke}

    test_ids, validation_ids = (
        split_ids(args.abisee, "all_test.txt"),
        split_ids(args.abisee, "all_val.txt"),
    )
    test_pool = candidates(read_rows(repos, TEST_SOURCES), test_ids, "test")
    validation_pool = candidates(read_rows(repos, VALIDATION_SOURCES), validation_ids, "validation")
    test_texts = {normalize(r["document"]) for r in test_pool}
    validation_pool = [r for r in validation_pool if normalize(r["document"]) not in test_texts]
    print(f"eligible: test {len(test_pool)}, validation {len(validation_pool)}")

    rng = random.Random(SEED)
    test = sample(test_pool, TEST_SIZE, rng)
    train = sample(validation_pool, TRAIN_SIZE, rng)
    overlap = {normalize(r["document"]) for r in train} & {normalize(r["document"]) for r in test}
    if overlap:
        raise SystemExit(f"{len(overlap)} documents in both train and test")

    for name, records in (("train", train), ("test", test)):
        path = args.out_dir / f"{name}.jsonl"
        write_jsonl(path, records)
        describe(name, path, records)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

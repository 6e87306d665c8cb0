"""Write a folder of CNN/DailyMail test articles, one ``<id>.txt`` each, for indexing.

The articles are every usable row of the same test export the slice in ``cnn_dailymail/`` was drawn
from (``data/cnn_dailymail_test.csv`` of MANUJMEHROTRA/model_hosting_e2e_decoder, the first 500
rows of the official test split; see ``cnn_dailymail/SOURCE.md``): each row's ``id`` is checked
against the official test url list, rows with an empty article or highlights are left out and
duplicates (same id or same normalized text) are dropped. Unlike the slice there is no length
filter: a long article is what the service map-reduces. Each file holds the article text only.

The folder is not committed: ``bench/summary_e2e.py`` builds it in a scratch directory. The
records used (``id``, ``document``, ``summary``) can be written as JSONL with ``--records``.

Usage (the git directories that the search tool's ``fetch`` brings in)::

    python corpora/summaries/build_news_folder.py --out /tmp/news \\
        --manuj /work/.mirror/MANUJMEHROTRA+model_hosting_e2e_decoder/repo \\
        --abisee /work/.mirror/abisee+cnn-dailymail/repo
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from build_cnn_dailymail import TEST_SOURCES, normalize, read_rows, split_ids, write_jsonl  # noqa: E402

MIRROR = Path("/work/.mirror")
DEFAULT_MANUJ = MIRROR / "MANUJMEHROTRA+model_hosting_e2e_decoder" / "repo"
DEFAULT_ABISEE = MIRROR / "abisee+cnn-dailymail" / "repo"
SLICE_TEST = HERE / "cnn_dailymail" / "test.jsonl"
MIN_ARTICLES = 400


def news_records(manuj: Path, abisee: Path) -> list[dict]:
    """Every usable test row as ``{"id", "document", "summary"}``, sorted by id."""
    allowed = split_ids(abisee, "all_test.txt")
    seen_ids: set[str] = set()
    seen_texts: set[str] = set()
    kept = []
    for row in read_rows({"manuj": manuj}, TEST_SOURCES):
        record_id = row["id"].strip()
        document, summary = row["article"].strip(), row["highlights"].strip()
        key = normalize(document)
        if record_id not in allowed or not document or not summary:
            continue
        if record_id in seen_ids or key in seen_texts:
            continue
        seen_ids.add(record_id)
        seen_texts.add(key)
        kept.append({"id": record_id, "document": document, "summary": summary})
    return sorted(kept, key=lambda record: record["id"])


def check_slice(records: list[dict], slice_path: Path = SLICE_TEST) -> None:
    """Every record of the committed test slice must be among ``records``, with the same text."""
    by_id = {record["id"]: record for record in records}
    with slice_path.open(encoding="utf-8") as handle:
        wanted = [json.loads(line) for line in handle if line.strip()]
    missing = [r["id"] for r in wanted if by_id.get(r["id"]) != r]
    if missing:
        raise SystemExit(f"{len(missing)} records of {slice_path.name} are not in the folder")


def write_folder(folder: Path, records: list[dict]) -> list[Path]:
    """One ``<id>.txt`` per record holding its article; the folder must be empty or new."""
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        raise SystemExit(f"{folder} is not empty")
    paths = []
    for record in records:
        path = folder / f"{record['id']}.txt"
        path.write_text(record["document"] + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def build(
    out: Path,
    records_path: Path | None = None,
    manuj: Path = DEFAULT_MANUJ,
    abisee: Path = DEFAULT_ABISEE,
) -> list[dict]:
    """Write the folder (and the records, if asked); return the records."""
    records = news_records(manuj, abisee)
    if len(records) < MIN_ARTICLES:
        raise SystemExit(f"only {len(records)} usable test rows (want {MIN_ARTICLES})")
    check_slice(records)
    write_folder(out, records)
    if records_path is not None:
        write_jsonl(records_path, records)
    return records


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, help="folder to write (default: a new temp dir)")
    parser.add_argument("--records", type=Path, help="also write the records used as JSONL")
    parser.add_argument("--manuj", type=Path, default=DEFAULT_MANUJ)
    parser.add_argument("--abisee", type=Path, default=DEFAULT_ABISEE)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="news_folder_"))
    records = build(out, args.records, args.manuj, args.abisee)
    words = sum(len(r["document"].split()) for r in records) / len(records)
    print(f"{len(records)} articles (mean {words:.0f} words) written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

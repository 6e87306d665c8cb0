"""The evaluation's inputs: where they are, that they are what they claim, and the held-out part.

Every file is read and validated before a model loads, so a wrong path or format costs a second,
not the minutes of a model pass. When the data comes from a folder with a ``SHA256SUMS`` file (the
prepared ``../shared/data``), each file used is checked against it and a mismatch stops the run:
numbers computed on silently different data must not be compared with earlier ones.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from retrieval.evaluate import load_beir_queries
from retrieval.loaders import BEIR_CORPUS_NAME, jsonl_lines
from specialist.errors import UserError
from specialist.settings import PROJECT_ROOT
from training.data import sha256_file
from training.raft import Question, load_xquad

DEFAULT_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data"
SQUAD_IN_DATA_DIR = Path("xquad") / "xquad.en.json"
SUMMARIES_IN_DATA_DIR = Path("dialogsum") / "test.jsonl"
BEIR_IN_DATA_DIR = Path("scifact")
SPLIT_FILE = PROJECT_ROOT / "corpora" / "training" / "qa_split.json"
NEWS_TEST = PROJECT_ROOT / "corpora" / "summaries" / "cnn_dailymail" / "test.jsonl"
"""The second summary set, news articles (shipped, so it needs no data folder)."""
SUMMARY_TRAINING_FILES = (
    PROJECT_ROOT / "corpora" / "training" / "dialogsum_train.jsonl",
    PROJECT_ROOT / "corpora" / "training" / "cnn_dailymail_train.jsonl",
)
"""What the shipped adapter was trained on: evaluation documents found here are dropped."""
BEIR_SPLIT = "test"
BEIR_DISTRACTORS_PER_QUERY = 20
"""With ``--limit``, the BEIR corpus is cut to the judged documents plus this many others each."""


@dataclass(frozen=True)
class EvalData:
    """The three inputs, and the folder they came from when one was given."""

    squad: Path
    summaries: Path
    beir: Path
    data_dir: Path | None
    news: Path = NEWS_TEST

    def files(self) -> dict[str, Path]:
        """Every file the run reads, by a stable name."""
        return {
            "squad": self.squad,
            "summaries": self.summaries,
            "news": self.news,
            "beir_corpus": self.beir / BEIR_CORPUS_NAME,
            "beir_queries": self.beir / "queries.jsonl",
            "beir_qrels": self.beir / "qrels" / f"{BEIR_SPLIT}.tsv",
        }


def resolve_data(
    data_dir: Path | None,
    squad: Path | None,
    summaries: Path | None,
    beir: Path | None,
    news: Path | None = None,
) -> EvalData:
    """Explicit paths win; the rest come from ``data_dir`` (default ``../shared/data``)."""
    folder = data_dir
    if folder is None and not (squad and summaries and beir) and DEFAULT_DATA_DIR.is_dir():
        folder = DEFAULT_DATA_DIR
    if folder is not None and not folder.is_dir():
        raise UserError(f"--data-dir {folder}: no such folder")
    missing = [
        flag
        for flag, given in (("--squad", squad), ("--summaries", summaries), ("--beir", beir))
        if given is None and folder is None
    ]
    if missing:
        raise UserError(
            f"no data folder: pass --data-dir (with xquad/, dialogsum/, scifact/) "
            f"or {', '.join(missing)}"
        )
    data = EvalData(
        squad=(squad or folder / SQUAD_IN_DATA_DIR).expanduser(),
        summaries=(summaries or folder / SUMMARIES_IN_DATA_DIR).expanduser(),
        beir=(beir or folder / BEIR_IN_DATA_DIR).expanduser(),
        data_dir=folder,
        news=(news or NEWS_TEST).expanduser(),
    )
    for name, path in data.files().items():
        if not path.is_file():
            raise UserError(f"{name.replace('_', ' ')} file {path} does not exist")
    return data


def data_hashes(data: EvalData) -> dict[str, dict[str, str]]:
    """sha256 of every input, checked against ``SHA256SUMS`` of the data folder when it has one.

    Raises :class:`UserError` when a listed file differs from its recorded hash.
    """
    recorded = _recorded_sums(data.data_dir)
    hashes = {}
    for name, path in data.files().items():
        digest = sha256_file(path)
        expected = recorded.get(path.resolve())
        if expected is not None and expected != digest:
            raise UserError(
                f"{path} does not match its SHA256SUMS entry: the data changed since it was "
                "prepared; restore it or pass the files explicitly"
            )
        status = "matches SHA256SUMS" if expected else "not listed in a SHA256SUMS"
        hashes[name] = {"path": str(path), "sha256": digest, "check": status}
    return hashes


def _recorded_sums(data_dir: Path | None) -> dict[Path, str]:
    if data_dir is None or not (data_dir / "SHA256SUMS").is_file():
        return {}
    sums = {}
    for line in (data_dir / "SHA256SUMS").read_text().splitlines():
        digest, _, name = line.strip().partition("  ")
        if digest and name:
            sums[(data_dir / name).resolve()] = digest
    return sums


@dataclass(frozen=True)
class HeldOut:
    """Held-out questions (seeded order), and the articles left out because training saw them."""

    questions: list[Question]
    articles: list[str]
    excluded_articles: list[str]


def heldout_questions(
    squad: Path, split_file: Path | None, limit: int | None, seed: int
) -> HeldOut:
    """Questions of the test articles: never trained on, never used to choose; shuffled.

    ``split_file`` is ``corpora/training/qa_split.json`` (or a split written by ``specialist data
    raft``): its training and dev articles are excluded. A file of your own shares no title with
    it, so all its questions count as held out.
    """
    articles = load_xquad(squad)
    trained: set[str] = set()
    if split_file is not None:
        try:
            split = json.loads(split_file.read_text())
            trained = set(split["train_articles"]) | set(split.get("dev_articles", []))
        except (OSError, ValueError, KeyError) as exc:
            raise UserError(
                f"{split_file}: not a split from `specialist data raft` ({exc})"
            ) from None
    kept = sorted(title for title in articles if title not in trained)
    questions = [question for title in kept for question in articles[title]]
    if not questions:
        raise UserError(f"{squad}: every article was used in training; nothing is held out")
    random.Random(seed).shuffle(questions)
    return HeldOut(questions[:limit] if limit else questions, kept, sorted(set(articles) & trained))


def beir_subset(beir: Path, limit: int, out: Path) -> Path:
    """A small BEIR folder for a quick run: ``limit`` judged queries, their documents, distractors.

    Written once under ``out`` (reused next time, so is its index); the full corpus would take
    minutes to embed on a CPU.
    """
    judged = load_beir_queries(beir, BEIR_SPLIT)
    query_ids = sorted(judged.queries)[:limit]
    relevant = {doc for q in query_ids for doc in judged.qrels[q]}
    wanted = limit * BEIR_DISTRACTORS_PER_QUERY
    lines = []
    for _, line in jsonl_lines((beir / BEIR_CORPUS_NAME).read_text(encoding="utf-8")):
        doc_id = str(json.loads(line)["_id"])
        if doc_id in relevant or wanted > 0:
            wanted -= doc_id not in relevant
            lines.append(line)
    folder = out / f"{beir.resolve().name}-limit{limit}"
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    (folder / BEIR_CORPUS_NAME).write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": q, "text": judged.queries[q]}) + "\n" for q in query_ids),
        encoding="utf-8",
    )
    qrels = ["query-id\tcorpus-id\tscore"] + [
        f"{q}\t{doc}\t{score}" for q in query_ids for doc, score in judged.qrels[q].items()
    ]
    (folder / "qrels" / f"{BEIR_SPLIT}.tsv").write_text("\n".join(qrels) + "\n", encoding="utf-8")
    return folder

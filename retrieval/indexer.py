"""Build an index version of a folder, reusing everything a previous version already holds.

A manifest records each file's size, mtime and sha256. A file whose size and mtime (or, failing
that, content hash) match the current version keeps its chunks and embeddings as they are; only
new or changed files are loaded and chunked, and a chunk whose embedded text already has an
embedding (a renamed file, an unchanged paragraph of an edited file) reuses it. Files that vanished
lose their chunks. Each chunk's sentences are embedded too, for the extractive reader, and reused
with their chunk (:mod:`retrieval.sentences`), unless the generating reader is configured, which
does not read them. An unchanged folder writes nothing, unless its version lacks sentence vectors
the extractive reader wants. Every build goes through
:class:`~specialist.versions.VersionStore`: one writer at a time, a new folder switched in with
``os.replace``, so killing the indexer at any point leaves the previous version served.

The folder being indexed is a boundary. It is resolved once (so a root that is itself a link, or a
path with ``..``, names its real folder), and every file and folder below it is checked against
that resolved root: a symbolic link is skipped and reported, unless ``SPECIALIST_FOLLOW_LINKS`` is
on and its target lies inside the root (and is not hidden, not the home folder, not a loop). A
target outside the root is refused either way. A file is read only if the opened file is still the
one the scan checked (same device and inode; with following off, opened with ``O_NOFOLLOW``).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import stat as stat_mod
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from retrieval import artifacts, sentences
from retrieval.chunking import Chunk, Chunker
from retrieval.loaders import SUPPORTED_SUFFIXES, SkipFile, is_supported, load_documents
from retrieval.sentences import StoredSentences
from specialist.errors import UserError
from specialist.settings import Settings
from specialist.versions import VersionStore

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

LINK_OUTSIDE = "symbolic link to a path outside the document root, not followed"
LINK_NOT_FOLLOWED = "symbolic link, not followed (SPECIALIST_FOLLOW_LINKS is off)"
LINK_EXCLUDED = "symbolic link to a hidden or excluded path, not followed"
LINK_LOOP = "symbolic link to a folder that contains it, not followed"
LINK_BROKEN = "broken symbolic link"
NOT_REGULAR = "not a regular file"
REPLACED = "replaced while indexing (by another file or a link), not read"


class _ReplacedError(Exception):
    """The path no longer names the file the scan checked."""


@dataclass
class IndexReport:
    """What one indexing run did; ``version`` is the version current afterwards."""

    version: str
    folder: str
    files_indexed: int = 0
    files_unchanged: int = 0
    files_deleted: int = 0
    files_renamed: int = 0
    chunks_total: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    sentences_embedded: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    changed: bool = True

    def summary(self) -> str:
        """One line for logs and the CLI."""
        state = "new version" if self.changed else "no change, kept version"
        return (
            f"{state} {self.version}: {self.files_indexed} files indexed, "
            f"{self.files_renamed} renamed, {self.files_unchanged} unchanged, "
            f"{self.files_deleted} deleted, {len(self.skipped)} skipped; "
            f"{self.chunks_total} chunks ({self.chunks_embedded} embedded, "
            f"{self.chunks_reused} reused), {self.sentences_embedded} sentences embedded "
            f"in {self.seconds:.1f} s"
        )


def index_store(settings: Settings, root: Path | None = None) -> VersionStore:
    """The version store of the product's index (or of a scratch index under ``root``)."""
    return VersionStore(root or settings.indexes_dir, "index", keep=settings.index_keep_versions)


def build_index(
    settings: Settings,
    folder: Path,
    *,
    progress: bool = True,
    embedder: SentenceTransformer | None = None,
    root: Path | None = None,
) -> IndexReport:
    """Index ``folder`` incrementally into a new version and make it current.

    Raises :class:`UserError` for a missing path, a path that is not a folder, a folder without
    any indexable file, or another indexer already writing (``BusyError``).
    """
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise UserError(f"cannot index {folder}: no such folder")
    if not folder.is_dir():
        raise UserError(f"cannot index {folder}: it is a file, not a folder")
    store = index_store(settings, root)
    with store.write_lock():
        return _Build(settings, folder.resolve(), store, progress, embedder).run()


@dataclass
class _Previous:
    """The current version's manifest, chunks and embeddings, if they can be reused."""

    meta: dict
    manifest: dict
    rows_by_file: dict[str, list[int]]
    chunks: list[Chunk]
    embeddings: np.ndarray
    row_by_key: dict[str, int]
    sentences: StoredSentences | None

    @classmethod
    def load(cls, store: VersionStore, compatibility: dict) -> _Previous | None:
        path = store.current_path()
        if path is None:
            return None
        try:
            meta = artifacts.read_json(path, artifacts.META)
            if meta.get("compatibility") != compatibility:
                log.info("current index was built with other settings; re-embedding everything")
                return None
            chunks = artifacts.read_chunks(path)
            embeddings = artifacts.read_embeddings(path)
            manifest = artifacts.read_json(path, artifacts.MANIFEST)
            stored = StoredSentences.read(path)
        except (OSError, ValueError, TypeError) as exc:
            log.warning("current index %s is unreadable (%s); rebuilding from scratch", path, exc)
            return None
        rows_by_file: dict[str, list[int]] = {}
        for row, chunk in enumerate(chunks):
            rows_by_file.setdefault(chunk.file, []).append(row)
        row_by_key = {chunk.embed_key: row for row, chunk in enumerate(chunks)}
        return cls(meta, manifest, rows_by_file, chunks, embeddings, row_by_key, stored)


class _Build:
    """One indexing run (the caller holds the store's write lock)."""

    def __init__(
        self,
        settings: Settings,
        folder: Path,
        store: VersionStore,
        progress: bool,
        embedder: SentenceTransformer | None,
    ) -> None:
        self.settings = settings
        self.folder = folder
        self.store = store
        self.progress = progress
        self._embedder = embedder
        self._chunker: Chunker | None = None
        self.compat = artifacts.compatibility(settings)
        self.max_bytes = int(settings.max_file_mb * 1024 * 1024)

    @property
    def embedder(self) -> SentenceTransformer:
        if self._embedder is None:
            from specialist.models import load_embedder

            self._embedder = load_embedder(self.settings)
        return self._embedder

    def run(self) -> IndexReport:
        started = time.perf_counter()
        previous = _Previous.load(self.store, self.compat)
        old_manifest = previous.manifest if previous else {}
        report = IndexReport(version="", folder=str(self.folder))
        manifest: dict[str, dict] = {}
        kept_rows: dict[str, list[int]] = {}
        fresh: dict[str, list[Chunk]] = {}
        fresh_hashes: dict[str, str] = {}
        stats_changed = False

        files = self._scan()
        from tqdm import tqdm

        for rel, path, stat, refused in tqdm(
            files, desc="scanning", unit="file", disable=not self.progress
        ):
            entry = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": None}
            old = old_manifest.get(rel)
            reason = refused or self._precheck(path, stat)
            if reason:
                manifest[rel] = {**entry, "skipped": reason}
                report.skipped.append((rel, reason))
                stats_changed |= old != manifest[rel]
                continue
            same_stat = old and (old["size"], old["mtime_ns"]) == (stat.st_size, stat.st_mtime_ns)
            if same_stat and old.get("sha256"):  # a file once skipped unread is read now
                manifest[rel] = old
                self._keep(rel, old, previous, kept_rows, report)
                continue
            try:
                data = self._read(path, stat)
            except _ReplacedError:
                reason = REPLACED
            except OSError as exc:
                reason = REPLACED if exc.errno == errno.ELOOP else None
                reason = reason or f"unreadable ({exc.strerror or exc})"
            else:
                reason = None if len(data) <= self.max_bytes else self._too_large()
            if reason:
                manifest[rel] = {**entry, "skipped": reason}
                report.skipped.append((rel, reason))
                stats_changed = True
                continue
            entry["sha256"] = hashlib.sha256(data).hexdigest()
            stats_changed = True
            if old and old.get("sha256") == entry["sha256"]:
                manifest[rel] = {**old, **entry}
                self._keep(rel, old, previous, kept_rows, report)
                continue
            chunks, reason, problems = self._chunk(path, rel, data)
            manifest[rel] = {**entry, "skipped": reason}
            if problems:
                manifest[rel]["problems"] = problems
                report.skipped.extend((rel, problem) for problem in problems)
            if reason:
                report.skipped.append((rel, reason))
            else:
                fresh[rel] = chunks
                fresh_hashes[rel] = entry["sha256"]

        deleted = [rel for rel in old_manifest if rel not in manifest]
        deleted_hashes = {
            old_manifest[rel].get("sha256")
            for rel in deleted
            if not old_manifest[rel].get("skipped")
        }
        renamed = {rel for rel, sha in fresh_hashes.items() if sha in deleted_hashes}
        report.files_renamed = len(renamed)
        report.files_indexed = len(fresh) - len(renamed)
        renamed_hashes = {fresh_hashes[rel] for rel in renamed}
        report.files_deleted = sum(
            1 for rel in deleted if old_manifest[rel].get("sha256") not in renamed_hashes
        )

        current = self.store.current()
        same_lexical = previous and previous.meta.get("lexical") == artifacts.lexical_params(
            self.settings
        )
        unchanged = not fresh and not deleted and not stats_changed
        sentences_wanted = self.settings.reader == "extract"
        has_sentences = previous is not None and previous.sentences is not None
        if current and same_lexical and (has_sentences or not sentences_wanted) and unchanged:
            report.version = current
            report.changed = False
            report.chunks_total = len(previous.chunks)
            report.chunks_reused = report.chunks_total
            report.seconds = time.perf_counter() - started
            return report

        chunks, embeddings, sources = self._assemble(manifest, kept_rows, fresh, previous, report)
        if not chunks:
            kinds = ", ".join(sorted({*SUPPORTED_SUFFIXES, "corpus.jsonl"}))
            raise UserError(
                f"{self.folder} contains no file that can be indexed "
                f"({len(report.skipped)} skipped; supported: {kinds})"
            )
        meta = {
            "folder": str(self.folder),
            "compatibility": self.compat,
            "chunks": len(chunks),
            "files": sum(1 for e in manifest.values() if not e.get("skipped")),
            "dim": int(embeddings.shape[1]),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        stored = None
        if sentences_wanted:  # only the extractive reader reads them; they double a full build
            stored, report.sentences_embedded = self._sentences(
                chunks, sources, previous, int(embeddings.shape[1])
            )
            meta["sentences"] = len(stored.vectors)
        with self.store.new_version() as pending:
            artifacts.write_version(pending.path, meta, manifest, chunks, embeddings, self.settings)
            if stored is not None:
                stored.write(pending.path)
            report.version = pending.name
        report.chunks_total = len(chunks)
        report.seconds = time.perf_counter() - started
        log.info("%s", report.summary())
        return report

    def _scan(self) -> list[tuple[str, Path, os.stat_result, str | None]]:
        """Every regular file below the folder, sorted, each with a reason to refuse it or None.

        Hidden files and folders and the home folder are left out silently. Symbolic links and
        anything that resolves outside the (resolved) folder come with the reason they are refused.
        """
        found: list[tuple[str, Path, os.stat_result, str | None]] = []
        root, home = self.folder, self.settings.home
        follow = self.settings.follow_links
        # the real folders on the way to each walked folder: a followed link must not lead back
        chains: dict[str, frozenset[Path]] = {str(root): frozenset({root})}

        def refuse(path: Path, reason: str) -> None:
            with contextlib.suppress(OSError):  # vanished since it was listed
                found.append((path.relative_to(root).as_posix(), path, path.lstat(), reason))

        for dirpath, dirnames, filenames in os.walk(root, followlinks=follow):
            base = Path(dirpath)
            chain = chains.pop(dirpath, frozenset({root}))
            kept = []
            for name in sorted(dirnames):
                path = base / name
                real = Path(os.path.realpath(path))  # never raises, even on a loop
                if name.startswith(".") or real == home:
                    continue
                reason = self._outside(real)
                if not reason and path.is_symlink():
                    reason = self._link_reason(real) or (LINK_LOOP if real in chain else None)
                if reason:
                    refuse(path, reason)
                    continue
                kept.append(name)
                chains[str(path)] = chain | {real}
            dirnames[:] = kept
            for name in filenames:
                if name.startswith("."):
                    continue
                path = base / name
                real = Path(os.path.realpath(path))  # never raises, even on a loop
                reason = self._outside(real)
                if not reason and path.is_symlink():
                    reason = self._link_reason(real)
                if reason:
                    refuse(path, reason)
                    continue
                try:
                    stat = path.stat()
                except OSError:
                    continue  # vanished since it was listed: treated as deleted
                if not stat_mod.S_ISREG(stat.st_mode):
                    refuse(path, NOT_REGULAR)
                    continue
                found.append((path.relative_to(root).as_posix(), path, stat, None))
        return sorted(found, key=lambda item: item[0])

    def _outside(self, real: Path) -> str | None:
        """Why a resolved path may not be read: it lies outside the folder being indexed."""
        return None if real.is_relative_to(self.folder) else LINK_OUTSIDE

    def _link_reason(self, real: Path) -> str | None:
        """Why a link whose (resolved, inside the root) target is ``real`` is not followed."""
        if not self.settings.follow_links:
            return LINK_NOT_FOLLOWED
        hidden = any(part.startswith(".") for part in real.relative_to(self.folder).parts)
        if hidden or real.is_relative_to(self.settings.home):
            return LINK_EXCLUDED
        if not real.exists():
            return LINK_BROKEN
        return None

    def _read(self, path: Path, stat: os.stat_result) -> bytes:
        """The bytes of the file the scan checked (at most one byte over the size limit).

        Without link following the last component is opened with ``O_NOFOLLOW``; either way the
        opened file must have the scanned device and inode, so a file swapped for a link (or a
        folder swapped for one) after the scan is never read.
        """
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
        if not self.settings.follow_links:
            flags |= getattr(os, "O_NOFOLLOW", 0)
        with os.fdopen(os.open(path, flags), "rb") as handle:
            opened = os.fstat(handle.fileno())
            if (opened.st_dev, opened.st_ino) != (stat.st_dev, stat.st_ino):
                raise _ReplacedError(path)
            return handle.read(self.max_bytes + 1)

    def _too_large(self) -> str:
        return f"larger than the {self.settings.max_file_mb:g} MB limit"

    def _precheck(self, path: Path, stat: os.stat_result) -> str | None:
        """Reasons to skip a file that need no reading."""
        if not is_supported(path):
            return f"unsupported file type {path.suffix.lower() or '(no extension)'}"
        if stat.st_size > self.max_bytes:
            return self._too_large()
        return None

    def _keep(
        self,
        rel: str,
        old: dict,
        previous: _Previous | None,
        kept_rows: dict[str, list[int]],
        report: IndexReport,
    ) -> None:
        report.skipped.extend((rel, problem) for problem in old.get("problems", []))
        if old.get("skipped"):
            report.skipped.append((rel, old["skipped"]))
            return
        assert previous is not None
        kept_rows[rel] = previous.rows_by_file.get(rel, [])
        report.files_unchanged += 1

    def _chunk(
        self, path: Path, rel: str, data: bytes
    ) -> tuple[list[Chunk], str | None, list[str]]:
        """The file's chunks, or the reason it is skipped; and the records it had to leave out."""
        problems: list[str] = []
        try:
            documents = load_documents(path, rel, data, problems=problems)
        except SkipFile as exc:
            return [], str(exc), []
        except Exception as exc:  # a loader bug or a malformed file must not stop the run
            log.warning("could not load %s", rel, exc_info=True)
            return [], f"could not be read ({type(exc).__name__})", []
        if self._chunker is None:
            self._chunker = Chunker(
                self.embedder.tokenizer, self.settings.chunk_tokens, self.settings.chunk_overlap
            )
        chunks = self._chunker.chunk(documents, rel)
        return (chunks, None, problems) if chunks else ([], "no text", problems)

    def _assemble(
        self,
        manifest: dict,
        kept_rows: dict[str, list[int]],
        fresh: dict[str, list[Chunk]],
        previous: _Previous | None,
        report: IndexReport,
    ) -> tuple[list[Chunk], np.ndarray, list[int]]:
        """All chunks in file order, with embeddings reused where the embedded text is known.

        Also returns, per chunk, the previous version's row it was reused from (-1 for none).
        """
        chunks: list[Chunk] = []
        sources: list[int] = []  # row of the previous version, or -1 - position in `pending`
        pending: list[Chunk] = []
        for rel in sorted(manifest):
            if rel in kept_rows:
                assert previous is not None
                for row in kept_rows[rel]:
                    chunks.append(previous.chunks[row])
                    sources.append(row)
            for chunk in fresh.get(rel, []):
                chunks.append(chunk)
                row = previous.row_by_key.get(chunk.embed_key) if previous else None
                if row is None:
                    sources.append(-1 - len(pending))
                    pending.append(chunk)
                else:
                    sources.append(row)
        report.chunks_embedded = len(pending)
        report.chunks_reused = len(chunks) - len(pending)
        if not chunks:
            return [], np.zeros((0, 0), dtype=np.float32), []
        new_vectors = self._embed(pending)
        dim = new_vectors.shape[1] if len(pending) else previous.embeddings.shape[1]
        embeddings = np.empty((len(chunks), dim), dtype=np.float32)
        index = np.asarray(sources)
        reused = index >= 0
        if reused.any():
            embeddings[reused] = previous.embeddings[index[reused]]
        if len(pending):
            embeddings[~reused] = new_vectors[-1 - index[~reused]]
        return chunks, embeddings, [max(row, -1) for row in sources]

    def _sentences(
        self, chunks: list[Chunk], sources: list[int], previous: _Previous | None, dim: int
    ) -> tuple[StoredSentences, int]:
        """Each chunk's sentence vectors, reused from ``previous`` for unchanged chunks, and how
        many sentences had to be embedded."""
        before = [
            (row, previous.chunks[row].text) if previous and row >= 0 else (-1, "")
            for row in sources
        ]
        stored = previous.sentences if previous else None
        return sentences.assemble([c.text for c in chunks], before, stored, self._encode, dim)

    def _embed(self, chunks: list[Chunk]) -> np.ndarray:
        if not chunks:
            return np.zeros((0, 0), dtype=np.float32)
        return self._encode([c.embed_text for c in chunks])

    def _encode(self, texts: list[str]) -> np.ndarray:
        """Normalized embeddings of ``texts``, with a progress bar when the run shows one."""
        vectors = self.embedder.encode(
            texts,
            batch_size=self.settings.embed_batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=self.progress,
        )
        return np.asarray(vectors, dtype=np.float32)

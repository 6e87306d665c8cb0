"""Turn one file into plain-text documents split into heading sections, or say why it is skipped.

Every loader returns :class:`Document` objects whose ``text`` is what chunk spans point into: the
file's own text for ``.txt``/``.md``/``.rst``, the extracted visible text for HTML and PDF, and a
record's text for a BEIR ``corpus.jsonl``. A file that cannot be read raises :class:`SkipFile` with
a short reason, which the indexer lists in its report instead of aborting the run; a bad record of
a ``corpus.jsonl`` (not JSON, not a record, not UTF-8) is left out and reported by its line number,
the other records are kept.

Files are hostile input. A ``.pdf`` must start like a PDF before any parser sees it, so a zip (or
anything else) renamed ``.pdf`` is never inflated, and pypdf's own decompression limits end a PDF
whose streams expand too far. Titles and headings are cut to :data:`MAX_LABEL_CHARS`, because every
chunk of a section repeats its title and heading path: a megabyte heading would otherwise be copied
into each of its thousands of chunks. No pattern here backtracks over a long line.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

BEIR_CORPUS_NAME = "corpus.jsonl"
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".rst")
SUPPORTED_SUFFIXES = (*TEXT_SUFFIXES, ".html", ".htm", ".pdf")
MAX_PROBLEMS = 10
"""Bad records of one file reported one by one; the rest are counted in one more line."""
MAX_LABEL_CHARS = 200
"""Longest title or heading kept (longer ones are cut, ending in an ellipsis)."""
PDF_HEADER_WINDOW = 1024
"""Readers accept a PDF whose ``%PDF-`` header starts within its first kilobyte."""
NOT_RECORD = "not a BEIR record with _id and text"
NOT_UTF8 = "not valid UTF-8"


class SkipFile(Exception):  # noqa: N818 - it is a signal, not a failure
    """The file cannot be indexed; the message is the reason shown in the report."""


@dataclass(frozen=True)
class Section:
    """A run of text under one heading path; ``start``/``end`` index into the document text."""

    heading: str
    start: int
    end: int


@dataclass(frozen=True)
class Document:
    """One indexable document: a file, or one record of a BEIR corpus."""

    source: str
    doc_id: str
    title: str
    text: str
    sections: tuple[Section, ...]


def is_supported(path: Path) -> bool:
    """Whether some loader reads files with this name."""
    return path.name == BEIR_CORPUS_NAME or path.suffix.lower() in SUPPORTED_SUFFIXES


def load_documents(
    path: Path, source: str, data: bytes, *, problems: list[str] | None = None
) -> list[Document]:
    """Documents of the file ``path`` (relative name ``source``) whose bytes are ``data``.

    Records left out of a file that is otherwise loaded are described in ``problems``.
    """
    if path.name == BEIR_CORPUS_NAME:
        return _load_beir(source, data, problems if problems is not None else [])
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return [_load_pdf(path, source, data)]
    if suffix not in SUPPORTED_SUFFIXES:
        raise SkipFile(f"unsupported file type {suffix or '(none)'}")
    text = _decode(data)
    if suffix in (".html", ".htm"):
        title, text = html_to_markdown(text)
        return [_document(source, source, text, markdown_sections(text), title)]
    sections = {
        ".md": markdown_sections,
        ".markdown": markdown_sections,
        ".rst": rst_sections,
    }.get(suffix, _whole_text)(text)
    return [_document(source, source, text, sections, None)]


def _decode(data: bytes) -> str:
    if b"\0" in data[:8192]:
        raise SkipFile("binary content")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SkipFile("not valid UTF-8 text") from None


def _document(
    source: str, doc_id: str, text: str, sections: list[tuple[str, int, int]], title: str | None
) -> Document:
    """Drop empty sections; the title is the first top heading, else the file name."""
    kept = tuple(Section(h, s, e) for h, s, e in sections if text[s:e].strip())
    if not kept:
        raise SkipFile("no text")
    if not title:
        firsts = [h.split(" > ")[0] for h, _, _ in sections if h]
        title = firsts[0] if firsts else Path(source).stem.replace("_", " ").replace("-", " ")
    return Document(source, doc_id, _label(title), text, kept)


def _label(text: str) -> str:
    """``text`` cut to :data:`MAX_LABEL_CHARS` characters, so a title or heading stays a label."""
    if len(text) <= MAX_LABEL_CHARS:
        return text
    return text[: MAX_LABEL_CHARS - 1].rstrip() + "\u2026"


def jsonl_lines(text: str) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` of each non-blank line of JSON Lines text.

    Lines end at ``\n`` only (a ``\r`` before it is dropped): ``str.splitlines`` would also break
    at U+0085, U+2028 and U+2029, which are legal inside JSON strings.
    """
    for number, line in enumerate(text.split("\n"), 1):
        line = line.removesuffix("\r")
        if line.strip():
            yield number, line


def _whole_text(text: str) -> list[tuple[str, int, int]]:
    return [("", 0, len(text))]


# Trailing spaces and closing hashes are stripped with rstrip, not matched: a lazy group before
# "[ \t#]*$" retries the tail at every character, quadratic on a long run of spaces.
_ATX = re.compile(r"(#{1,6})[ \t]+(.*)")
_FENCE = re.compile(r"^\s*(```|~~~)")


def markdown_sections(text: str) -> list[tuple[str, int, int]]:
    """Split Markdown at ATX headings (not inside code fences), keeping the heading path."""
    sections: list[tuple[str, int, int]] = []
    path: list[tuple[int, str]] = []
    start, offset, in_fence = 0, 0, False
    for line in text.splitlines(keepends=True):
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _ATX.match(line.rstrip("\r\n"))
        title = match.group(2).rstrip(" \t#") if match else ""
        if title:
            sections.append((_heading(path), start, offset))
            level = len(match.group(1))
            path = [(lvl, h) for lvl, h in path if lvl < level] + [(level, _label(title))]
            start = offset + len(line)
        offset += len(line)
    sections.append((_heading(path), start, len(text)))
    return sections


def _heading(path: list[tuple[int, str]]) -> str:
    return " > ".join(h for _, h in path)


_RST_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+:.])\1{2,}\s*$")


def rst_sections(text: str) -> list[tuple[str, int, int]]:
    """Split reStructuredText at underlined titles; levels follow the order adornments appear."""
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    levels: list[str] = []
    path: list[tuple[int, str]] = []
    sections: list[tuple[str, int, int]] = []
    start = 0
    for i in range(1, len(lines)):
        title, underline = lines[i - 1].strip(), lines[i].strip()
        if not title or not _RST_UNDERLINE.match(underline) or len(underline) < len(title):
            continue
        if _RST_UNDERLINE.match(title):
            continue
        char = underline[0]
        if char not in levels:
            levels.append(char)
        level = levels.index(char)
        sections.append((_heading(path), start, offsets[i - 1]))
        path = [(lvl, h) for lvl, h in path if lvl < level] + [(level, _label(title))]
        start = offsets[i + 1]
    sections.append((_heading(path), start, len(text)))
    return sections


_INVISIBLE = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form")


def html_to_markdown(html: str) -> tuple[str | None, str]:
    """Visible text of a page with headings written as Markdown, so the Markdown splitter applies.

    Scripts, styles and navigation boilerplate (nav, header, footer, aside, forms) are dropped.
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else None
    for tag in soup(["title", "head", *_INVISIBLE]):
        tag.decompose()
    for level in range(1, 7):
        for heading in soup.find_all(f"h{level}"):
            heading.replace_with(f"\n\n{'#' * level} {heading.get_text(' ', strip=True)}\n\n")
    for block in soup.find_all(["p", "li", "div", "br", "tr", "pre", "blockquote"]):
        block.insert_after("\n")
    lines = [" ".join(line.split()) for line in soup.get_text().splitlines()]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"
    return title or None, text


def _load_pdf(path: Path, source: str, data: bytes) -> Document:
    """The text of every page; pypdf's limits (not ours) bound what one stream may expand to."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PyPdfError

    if b"%PDF-" not in data[:PDF_HEADER_WINDOW]:
        raise SkipFile("not a PDF (no %PDF- header)")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise SkipFile("encrypted PDF")
        text = "\n\n".join((page.extract_text() or "").strip() for page in reader.pages)
        meta_title = (reader.metadata or {}).get("/Title") if reader.metadata else None
    except LimitReachedError:
        raise SkipFile("PDF content expands past the decompression limit") from None
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise SkipFile(f"unreadable PDF ({type(exc).__name__})") from None
    return _document(source, source, text, _whole_text(text), str(meta_title or "") or None)


def _load_beir(source: str, data: bytes, problems: list[str]) -> list[Document]:
    """One document per line of a BEIR corpus (``_id``, ``title``, ``text``).

    A line that is not such a record (or not UTF-8) is left out and reported in ``problems``; the
    file is skipped only when no line is a record with text.
    """
    documents = []
    bad: list[tuple[int, str]] = []
    for number, line in _utf8_lines(data):
        if line is None:
            bad.append((number, NOT_UTF8))
            continue
        try:
            record = json.loads(line)
            doc_id, text = str(record["_id"]), str(record.get("text") or "")
        except (ValueError, KeyError, TypeError, AttributeError):
            bad.append((number, NOT_RECORD))
            continue
        if text.strip():
            title = _label(str(record.get("title") or "") or doc_id)
            documents.append(
                Document(f"{source}#{doc_id}", doc_id, title, text, (Section("", 0, len(text)),))
            )
    if not documents:
        if bad:
            more = f" (and {len(bad) - 1} more lines)" if len(bad) > 1 else ""
            raise SkipFile(f"line {bad[0][0]} is {bad[0][1]}{more}")
        raise SkipFile("no text")
    problems.extend(f"line {number} left out: {why}" for number, why in bad[:MAX_PROBLEMS])
    if len(bad) > MAX_PROBLEMS:
        problems.append(f"{len(bad) - MAX_PROBLEMS} more lines left out: not BEIR records")
    return documents


def _utf8_lines(data: bytes) -> Iterator[tuple[int, str | None]]:
    """Like :func:`jsonl_lines` on bytes, each line decoded alone (``None`` if it is not UTF-8).

    A corrupt byte then costs only its own record, not the whole corpus. Splitting the bytes at
    ``\n`` is exact: in UTF-8 that byte is never part of another character.
    """
    for number, raw in enumerate(data.removeprefix(codecs.BOM_UTF8).split(b"\n"), 1):
        try:
            line = raw.decode("utf-8").removesuffix("\r")
        except UnicodeDecodeError:
            yield number, None
            continue
        if line.strip():
            yield number, line

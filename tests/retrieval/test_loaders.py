"""Loaders: sections and heading paths, visible HTML text, PDF text, BEIR records, skip reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrieval.loaders import SkipFile, load_documents


def load(name: str, content: str | bytes):
    data = content.encode() if isinstance(content, str) else content
    return load_documents(Path(name), name, data)


def test_markdown_heading_paths_and_spans() -> None:
    text = (
        "# Guide\n\nIntro.\n\n## Setup\n\nStep one.\n\n```\n# not a heading\n```\n\n## Use\n\nGo.\n"
    )
    [doc] = load("guide.md", text)
    assert doc.title == "Guide"
    headings = [s.heading for s in doc.sections]
    assert headings == ["Guide", "Guide > Setup", "Guide > Use"]
    setup = doc.sections[1]
    assert "Step one." in doc.text[setup.start : setup.end]
    assert "# not a heading" in doc.text[setup.start : setup.end]


def test_rst_sections() -> None:
    [doc] = load("a.rst", "Manual\n======\n\nHello.\n\nInstall\n-------\n\nRun it.\n")
    assert doc.title == "Manual"
    assert [s.heading for s in doc.sections] == ["Manual", "Manual > Install"]


def test_html_keeps_visible_text_only() -> None:
    html = (
        "<html><head><title>Tide tables</title><style>p{color:red}</style></head><body>"
        "<nav>Home | Login</nav><script>track()</script><h1>Tides</h1>"
        "<p>High tide at noon.</p><footer>Copyright</footer></body></html>"
    )
    [doc] = load("t.html", html)
    assert doc.title == "Tide tables"
    assert "High tide at noon." in doc.text
    for hidden in ("track()", "color:red", "Login", "Copyright"):
        assert hidden not in doc.text
    assert doc.sections[0].heading == "Tides"


def test_pdf_text(make_pdf) -> None:
    stream = b"BT /F1 12 Tf 72 720 Td (Quarterly turbine inspection passed) Tj ET"
    [doc] = load("report.pdf", make_pdf(stream))
    assert "turbine inspection" in doc.text
    assert doc.title == "report"


def test_beir_corpus_records() -> None:
    lines = [
        {"_id": "d1", "title": "Cells", "text": "Mitochondria make ATP."},
        {"_id": "d2", "title": "", "text": "Ribosomes make proteins."},
    ]
    docs = load("corpus.jsonl", "\n".join(json.dumps(line) for line in lines))
    assert [(d.doc_id, d.source, d.title) for d in docs] == [
        ("d1", "corpus.jsonl#d1", "Cells"),
        ("d2", "corpus.jsonl#d2", "d2"),
    ]


def test_beir_splits_on_newlines_only_and_reports_one_bad_record() -> None:
    texts = [
        "Scraped text with a NEL\u0085in the middle.",
        "A line separator\u2028and a paragraph separator\u2029inside one string.",
        "Plain record after the bad one.",
    ]
    records = [
        json.dumps({"_id": f"d{i}", "text": t}, ensure_ascii=False) for i, t in enumerate(texts)
    ]
    lines = [records[0], records[1], '{"_id": "broken", "text": "unterminated', "", records[2]]
    problems: list[str] = []
    data = "\r\n".join(lines).encode()
    docs = load_documents(Path("corpus.jsonl"), "corpus.jsonl", data, problems=problems)
    assert [d.text for d in docs] == texts
    assert [d.doc_id for d in docs] == ["d0", "d1", "d2"]
    assert problems == ["line 3 left out: not a BEIR record with _id and text"]


def test_beir_many_bad_records_are_counted_not_listed() -> None:
    good = json.dumps({"_id": "ok", "text": "Fine."})
    problems: list[str] = []
    data = "\n".join([good] + ["[1, 2]"] * 25).encode()
    docs = load_documents(Path("corpus.jsonl"), "corpus.jsonl", data, problems=problems)
    assert len(docs) == 1
    assert len(problems) == 11 and problems[0].startswith("line 2 left out")
    assert problems[-1] == "15 more lines left out: not BEIR records"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("a.txt", b"abc\x00\x01def", "binary content"),
        ("a.md", b"caf\xe9 \xff\xfe", "not valid UTF-8 text"),
        ("a.md", b"   \n\n", "no text"),
        ("a.pdf", b"%PDF-1.4 garbage", "unreadable PDF"),
        ("corpus.jsonl", b'{"no": "id"}\n', "line 1 is not a BEIR record"),
        ("corpus.jsonl", b'\n{"no": "id"}\nnull\n', r"line 2 is .* \(and 1 more lines\)"),
    ],
)
def test_skip_reasons(name: str, content: bytes, reason: str) -> None:
    with pytest.raises(SkipFile, match=reason):
        load(name, content)

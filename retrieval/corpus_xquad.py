"""Write the XQuAD English articles as one Markdown file per article (the default corpus).

``python -m retrieval.corpus_xquad ../shared/data/xquad/xquad.en.json corpora/xquad`` produces the
files committed under ``corpora/xquad/``: the article title as a ``#`` heading, then its paragraphs
verbatim, so every XQuAD answer span is also a substring of the Markdown file.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from specialist.errors import UserError

if TYPE_CHECKING:
    from retrieval.search import HybridIndex
    from specialist.settings import Settings


def xquad_filename(title: str) -> str:
    """File name of an article: ``Fresno,_California`` becomes ``Fresno_California.md``."""
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_-]", "_", title)).strip("_") + ".md"


def article_markdown(article: dict) -> str:
    """One article as Markdown: title heading, then paragraphs separated by blank lines."""
    title = article["title"].replace("_", " ")
    paragraphs = [p["context"].strip() for p in article["paragraphs"]]
    return f"# {title}\n\n" + "\n\n".join(paragraphs) + "\n"


def write_xquad_corpus(source: Path, out_dir: Path) -> list[Path]:
    """Write every article of a SQuAD-format file into ``out_dir``; returns the written paths."""
    try:
        articles = json.loads(source.read_text())["data"]
    except (OSError, ValueError, KeyError) as exc:
        raise UserError(f"cannot read XQuAD articles from {source}: {exc}") from None
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for article in articles:
        path = out_dir / xquad_filename(article["title"])
        path.write_text(article_markdown(article))
        written.append(path)
    return written


def xquad_index(settings: Settings, squad: Path, squad_sha256: str) -> HybridIndex:
    """Index a SQuAD-layout file's articles as Markdown, in scratch folders under the home.

    Evaluation and reader fitting search the same corpus the service ships (every article, as
    Markdown). Both folders are keyed by the file's hash, so a second run reuses every embedding.
    """
    from retrieval.indexer import build_index
    from retrieval.search import open_index

    key = squad_sha256[:10]
    docs = settings.home / "eval-data" / f"qa-{key}"
    root = settings.home / "eval-indexes" / f"qa-{key}"
    write_xquad_corpus(squad, docs)
    build_index(settings, docs, root=root)
    index = open_index(settings, root=root)
    assert index is not None, "build_index always leaves a current version"
    return index


def main() -> None:
    """Command-line entry: source JSON and output folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="xquad.en.json (SQuAD v1.1 format)")
    parser.add_argument("out_dir", type=Path, help="folder for the Markdown files")
    args = parser.parse_args()
    print(f"wrote {len(write_xquad_corpus(args.source, args.out_dir))} articles to {args.out_dir}")


if __name__ == "__main__":
    main()

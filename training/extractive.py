"""Reference summarizers that need no language model: lead-N and the embedding centroid.

``eval summarize`` scores them beside the models on every run, so a model's ROUGE reads against
what copying would get: on news, the first three sentences (lead-3) are a famously hard baseline.
They live in ``training`` because ``training.evaluate`` runs them and ``training`` never imports
``evaluation`` (``evaluation`` imports ``training``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from training.summary_metrics import summary_sentences

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


def lead(document: str, count: int) -> str:
    """The document's first ``count`` sentences, one a line (as :func:`centroid_summaries`)."""
    return "\n".join(summary_sentences(document)[:count])


def centroid_summaries(
    documents: Sequence[str], embedder: SentenceTransformer, count: int = 3
) -> list[str]:
    """For each document, its ``count`` sentences closest to the mean of its sentence vectors,
    in document order.

    Why the centroid rather than TextRank: with unit-length vectors, a sentence's dot product with
    the mean vector *is* its mean cosine similarity to every sentence of the document, its degree
    in the fully connected similarity graph. TextRank ranks the same graph by eigenvector
    centrality, which needs a similarity threshold or damping factor and power iterations to
    converge; the centroid is the one-step version with no parameter but ``count``, and one
    matrix product per document. The embedder is the packaged one (the service's), and all
    sentences of all documents are embedded in one batched call. Sentences are joined one a line,
    so a sentence taken from the middle of a turn or paragraph stays a sentence of its own.
    """
    split = [summary_sentences(document) for document in documents]
    flat = [sentence for sentences in split for sentence in sentences]
    vectors = embedder.encode(
        flat,
        batch_size=64,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=len(flat) > 500,
    )
    summaries, start = [], 0
    for sentences in split:
        rows = vectors[start : start + len(sentences)]
        start += len(sentences)
        scores = rows @ rows.mean(axis=0) if len(sentences) else np.zeros(0)
        chosen = sorted(np.argsort(-scores, kind="stable")[:count])
        summaries.append("\n".join(sentences[i] for i in chosen))
    return summaries

"""Indexing a document folder into versioned hybrid (FAISS dense + BM25 lexical) indexes.

Public API::

    from retrieval.indexer import build_index, IndexReport   # incremental, atomic new version
    from retrieval.search import open_index, HybridIndex, Hit

Modules: ``loaders`` (files to documents, skip reasons), ``chunking`` (token-aware windows),
``artifacts`` (the files of one version), ``indexer``, ``search`` (dense, BM25, RRF),
``evaluate``/``metrics`` (BEIR scores), ``watch`` (reindex on change), ``corpus_xquad`` (the
default corpus), ``cli``/``eval_cli`` (``specialist index|search|eval retrieval``).
"""

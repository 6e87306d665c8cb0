"""Indexing a document folder into versioned hybrid (FAISS dense + BM25 lexical) indexes."""

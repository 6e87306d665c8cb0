"""HTTP service: a thin FastAPI layer wiring ``retrieval`` and the specialist generator."""

"""Shared core of the specialist service: settings, model loading, prompt template, versioned storage.

Everything that ``retrieval``, ``training`` and ``service`` must agree on lives here exactly once.
"""

__version__ = "0.1.0"

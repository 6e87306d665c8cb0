"""Confine user-supplied paths to the configured document roots before anything is read."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from specialist.errors import UserError


class PathRefusedError(UserError):
    """The path resolves outside every document root (HTTP 403)."""


def confine(requested: str | None, roots: Sequence[Path]) -> Path:
    """The real path of ``requested`` if it lies inside one of ``roots``, else :class:`PathRefusedError`.

    Relative paths are taken relative to the first root. ``os.path.realpath`` resolves ``..`` and
    every symlink on the way, so neither can lead out of a root; only path metadata is touched.
    """
    if not roots:
        raise PathRefusedError("no document roots are configured (SPECIALIST_DOCS_DIRS)")
    real_roots = [Path(os.path.realpath(root)) for root in roots]
    if requested is None or not requested.strip():
        return real_roots[0]
    if "\x00" in requested:
        raise PathRefusedError("the path contains a NUL character")
    candidate = Path(requested).expanduser()
    if not candidate.is_absolute():
        candidate = Path(roots[0]) / candidate
    real = Path(os.path.realpath(candidate))
    if not any(real == root or real.is_relative_to(root) for root in real_roots):
        allowed = ", ".join(str(root) for root in real_roots)
        raise PathRefusedError(f"{requested!r} is outside the document roots ({allowed})")
    return real

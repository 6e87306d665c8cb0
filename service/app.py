"""FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI

from specialist import __version__
from specialist.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    """Build the app for ``settings``; nothing heavy happens until the first request needs it."""
    app = FastAPI(title="specialist", version=__version__)
    app.state.settings = settings

    @app.get("/health")
    def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    return app

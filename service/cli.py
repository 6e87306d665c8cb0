"""``specialist serve``: run the HTTP service."""

from __future__ import annotations

import argparse

from specialist.settings import load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    """Attach the ``serve`` subcommand."""
    parser = subparsers.add_parser("serve", help="run the HTTP service")
    parser.add_argument("--host", help="bind address (default: SPECIALIST_HOST)")
    parser.add_argument("--port", type=int, help="port (default: SPECIALIST_PORT)")
    parser.set_defaults(handler=serve)


def serve(args: argparse.Namespace) -> int:
    """Start uvicorn on the configured address."""
    import uvicorn

    from service.app import create_app

    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = load_settings(**overrides)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
    return 0

"""`flowwright serve`: run the REST API under uvicorn in factory mode.

Checks the configuration in this process first so a missing or short JWT secret is a one-line
error (exit 2) rather than a traceback from every worker. In dev mode the random secret is made
here and handed to the workers through the environment: workers must share one secret or a token
signed by one would be refused by the others.
"""

from __future__ import annotations

from typing import Annotated

import typer


def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Processes.")] = 1,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "info",
) -> None:
    """Serve the REST API (OpenAPI at /openapi.json, docs at /docs)."""
    from app.cli.main import user_errors

    with user_errors():
        run_serve(host=host, port=port, workers=workers, log_level=log_level)


def run_serve(*, host: str, port: int, workers: int, log_level: str) -> None:
    import os
    import secrets
    import sys

    import uvicorn

    from app.api.security import resolve_secret
    from app.api.settings import ApiSettings
    from app.db.migrate import ensure_schema

    settings = ApiSettings()
    if settings.jwt_secret is None and settings.api_dev_mode:
        os.environ["FLOWWRIGHT_JWT_SECRET"] = secrets.token_urlsafe(48)
        sys.stderr.write(
            "warning: dev mode: generated a random JWT secret for this server run; tokens die "
            "with it. Set FLOWWRIGHT_JWT_SECRET for anything real.\n"
        )
        settings = ApiSettings()
    resolve_secret(settings)
    settings.trusted_networks()
    ensure_schema(settings.resolved_database_url)  # once here, not raced by N workers
    uvicorn.run(
        "app.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        proxy_headers=False,  # X-Forwarded-For is judged by our trusted-proxy setting
        server_header=False,
    )

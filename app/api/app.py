"""The FastAPI application factory (`uvicorn --factory app.api.app:create_app`).

`create_app` fails fast: an unusable JWT secret or proxy list raises before the server accepts
a connection. Routers are built per app because slowapi binds limits at decoration time and the
tiers come from this app's settings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import cache

from fastapi import APIRouter, FastAPI
from slowapi.errors import RateLimitExceeded
from starlette.concurrency import run_in_threadpool

from app import __version__
from app.api.auth_routes import build_auth_router
from app.api.middleware import API_REQUEST_ID, BodyLimitMiddleware
from app.api.problems import install_problem_handlers
from app.api.ratelimit import build_limiter, rate_limit_exceeded
from app.api.routes import health, metrics
from app.api.routes.me import build_me_router
from app.api.routes.resources import build_resources_router
from app.api.routes.tools import build_tools_router
from app.api.routes.traces import build_traces_router
from app.api.routes.validate import build_validate_router
from app.api.security import TokenCodec, resolve_secret
from app.api.settings import ApiSettings
from app.db.migrate import ensure_schema
from app.observability.logging import RequestIdMiddleware
from app.observability.metrics import MetricsMiddleware
from app.tools.registry import Catalog

API_PREFIX = "/api/v1"


def _catalog_loader() -> Callable[[], Catalog]:
    @cache
    def load() -> Catalog:
        return Catalog.builtin()

    return load


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """A configured API app; raises `SecretConfigError` without a usable signing secret."""
    settings = settings or ApiSettings()
    codec = TokenCodec(resolve_secret(settings), settings)
    limiter = build_limiter(settings)
    catalog = _catalog_loader()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        from app.observability.logging import configure_logging
        from app.observability.tracing import configure_langsmith, flush_traces

        configure_logging(settings.log_level, json=settings.log_json)
        configure_langsmith()  # a no-op unless LANGSMITH_TRACING=true
        await run_in_threadpool(ensure_schema, settings.resolved_database_url)
        await run_in_threadpool(catalog)  # first request should not pay for tool imports
        try:
            yield
        finally:
            await run_in_threadpool(flush_traces)  # queued LangSmith runs reach the server

    app = FastAPI(
        title="Flowwright API",
        version=__version__,
        description="Validate and run LangGraph workflows. Errors are RFC 9457 problem details.",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.codec = codec
    app.state.limiter = limiter
    app.state.catalog = catalog

    install_problem_handlers(app)
    app.add_exception_handler(RateLimitExceeded, rate_limit_exceeded)
    # Added last = outermost: the request id exists before the body limit can answer 413.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(RequestIdMiddleware, pattern=API_REQUEST_ID)
    # Outermost: counts every answer, 413s and unmatched paths included, by route template.
    app.add_middleware(MetricsMiddleware, exclude=(metrics.METRICS_PATH,))

    api = APIRouter(prefix=API_PREFIX)
    api.include_router(build_auth_router(limiter, settings))
    api.include_router(build_me_router(limiter, settings))
    api.include_router(build_tools_router(limiter, settings))
    api.include_router(build_validate_router(limiter, settings))
    api.include_router(build_resources_router(limiter, settings))
    api.include_router(build_traces_router(limiter, settings))
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(api)
    return app

"""Readiness and diagnostics: can this process serve work right now, and what is it running?

Each check returns ``{name, ok, latency_ms, detail}`` and is bounded by a deadline: it runs in
its own daemon thread and is reported as failed when the deadline passes (a database host that
drops packets must not hang a probe for the TCP timeout). Checks run concurrently, so a probe
takes as long as its slowest check, not their sum. Nothing here calls a paid external API.

The API mounts ``/health`` (liveness, no checks), ``/health/ready`` (`readiness`, 503 when not
ready) and ``/health/detailed`` (`detailed`, admin only: versions and every check).
"""

from __future__ import annotations

import asyncio
import os
import platform
import threading
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any, TypedDict

from app.config import Settings, get_settings
from app.observability.redaction import redact_text

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
TEMPLATE_SUFFIXES = (".j2", ".jinja", ".jinja2")
KEY_PACKAGES = (
    "langgraph", "langchain-core", "langsmith", "fastapi", "starlette", "pydantic",
    "sqlalchemy", "alembic", "jinja2", "structlog", "prometheus-client", "redis", "typer",
)  # fmt: skip


class CheckResult(TypedDict):
    name: str
    ok: bool
    latency_ms: float
    detail: str | None


def _timeout() -> float:
    return get_settings().health_timeout_s


def run_check(name: str, probe: Callable[[], str | None], timeout_s: float) -> CheckResult:
    """Run `probe` in a daemon thread; fail the check if it raises or outlives `timeout_s`.

    The probe returns a short detail on success and raises on failure. A probe that overruns
    keeps its thread until it finishes on its own (threads cannot be killed), but the caller is
    answered on time; daemon threads never block interpreter exit.
    """
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["detail"] = probe()
        except BaseException as exc:
            outcome["error"] = f"{type(exc).__name__}: {exc}".strip().splitlines()[0][:500]

    start = time.perf_counter()
    thread = threading.Thread(target=target, name=f"health-{name}", daemon=True)
    thread.start()
    thread.join(timeout_s)
    latency = round((time.perf_counter() - start) * 1000, 2)
    if thread.is_alive():
        return CheckResult(name=name, ok=False, latency_ms=latency,
                           detail=f"timed out after {timeout_s:g}s")  # fmt: skip
    if "error" in outcome:
        return CheckResult(name=name, ok=False, latency_ms=latency, detail=outcome["error"])
    return CheckResult(name=name, ok=True, latency_ms=latency, detail=outcome.get("detail"))


# --- probes -----------------------------------------------------------------------------------
def _probe_database(url: str | None) -> str:
    from sqlalchemy import text

    from app.db.base import engine_for
    from app.db.migrate import current_revision, head_revision, resolve_url

    url = resolve_url(url)
    with engine_for(url).connect() as conn:
        conn.execute(text("SELECT 1"))
    current, head = current_revision(url), head_revision()
    if current != head:
        raise RuntimeError(f"schema at revision {current!r}, expected head {head!r}")
    return f"revision {current}"


def check_database(url: str | None = None, timeout_s: float | None = None) -> CheckResult:
    """``SELECT 1`` on the state database, and its schema is at the newest migration."""
    return run_check("database", lambda: _probe_database(url), timeout_s or _timeout())


def _probe_checkpointer(timeout_s: float, settings: Settings | None = None) -> str:
    from app.engine.checkpoints import is_postgres, open_checkpointer, postgres_conninfo

    settings = settings or get_settings()
    url = settings.resolved_database_url
    if is_postgres(url):
        # A pool would keep retrying in the background after the deadline; one bounded
        # connection that finds the checkpoint table is the cheap equivalent.
        import psycopg

        connect_timeout = max(1, int(timeout_s))
        with psycopg.connect(postgres_conninfo(url), connect_timeout=connect_timeout) as conn:
            found = conn.execute("SELECT to_regclass('checkpoints')").fetchone()
        if not found or found[0] is None:
            raise RuntimeError("checkpoint tables are missing (no run has set them up yet)")
        return "AsyncPostgresSaver"

    async def probe() -> str:
        async with open_checkpointer(settings) as saver:
            return type(saver).__name__

    return asyncio.run(probe())


def check_checkpointer(
    timeout_s: float | None = None, settings: Settings | None = None
) -> CheckResult:
    """The LangGraph checkpointer opens (tables exist or can be created) and closes."""
    timeout = timeout_s or _timeout()
    return run_check("checkpointer", lambda: _probe_checkpointer(timeout, settings), timeout)


def _probe_redis(url: str, timeout_s: float) -> str:
    import redis

    client = redis.Redis.from_url(
        url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s, retry_on_timeout=False
    )
    try:
        if not client.ping():
            raise RuntimeError("PING did not return PONG")
    finally:
        client.close()
    return "PONG"


def check_redis(url: str | None = None, timeout_s: float | None = None) -> CheckResult | None:
    """``PING`` the rate-limit/queue Redis; None when no Redis is configured."""
    url = url or get_settings().redis_url
    if not url:
        return None
    timeout = timeout_s or _timeout()
    return run_check("redis", lambda: _probe_redis(url, timeout), timeout)


def _probe_templates(root: Path) -> str:
    from jinja2 import Environment

    if not root.is_dir():
        raise FileNotFoundError(f"templates directory {root} is missing")
    env = Environment(autoescape=False)
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in TEMPLATE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"no templates under {root}")
    for path in files:
        try:
            env.parse(path.read_text(encoding="utf-8"), name=path.name, filename=str(path))
        except Exception as exc:
            raise RuntimeError(f"{path.relative_to(root)}: {exc}") from exc
    return f"{len(files)} templates parse"


def check_templates(root: Path | None = None, timeout_s: float | None = None) -> CheckResult:
    """The artifact templates exist and every one of them parses (syntax, not rendering)."""
    return run_check("templates", lambda: _probe_templates(root or TEMPLATES_DIR),
                     timeout_s or _timeout())  # fmt: skip


# --- aggregations -----------------------------------------------------------------------------
def run_checks(
    timeout_s: float | None = None, settings: Settings | None = None
) -> list[CheckResult]:
    """Every configured check, run concurrently (total time ≈ the slowest check).

    `settings` lets an app built from its own settings (the API's `create_app(settings)`) probe
    *its* database and Redis rather than the process-wide ones from the environment.
    """
    db_url = settings.resolved_database_url if settings is not None else None
    redis_url = settings.redis_url if settings is not None else None
    timeout_s = timeout_s or (settings.health_timeout_s if settings is not None else None)

    def redis_check() -> CheckResult | None:
        if settings is not None and not redis_url:
            return None  # this app has no Redis, whatever the environment says
        return check_redis(redis_url, timeout_s=timeout_s)

    probes: list[Callable[[], CheckResult | None]] = [
        lambda: check_database(db_url, timeout_s=timeout_s),
        lambda: check_checkpointer(timeout_s=timeout_s, settings=settings),
        redis_check,
        lambda: check_templates(timeout_s=timeout_s),
    ]
    results: list[CheckResult | None] = [None] * len(probes)

    def call(i: int) -> None:
        results[i] = probes[i]()

    threads = [threading.Thread(target=call, args=(i,), daemon=True) for i in range(len(probes))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()  # each check enforces its own deadline
    return [r for r in results if r is not None]


def readiness(timeout_s: float | None = None, settings: Settings | None = None) -> dict[str, Any]:
    """``{"ready": bool, "checks": [...]}``: ready only when every check passes."""
    checks = run_checks(timeout_s, settings)
    return {"ready": all(c["ok"] for c in checks), "checks": checks}


def package_versions(names: tuple[str, ...] = KEY_PACKAGES) -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def detailed(timeout_s: float | None = None, settings: Settings | None = None) -> dict[str, Any]:
    """Readiness plus what is running: Flowwright, Python and key package versions, backends.

    For operators (admin-only route): URLs are shown with passwords masked.
    """
    from app import __version__
    from app.db.migrate import safe_url

    ready = readiness(timeout_s, settings)
    settings = settings or get_settings()
    return {
        **ready,
        "version": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "packages": package_versions(),
        "database": safe_url(settings.resolved_database_url),
        "redis": redact_text(settings.redis_url) if settings.redis_url else None,
        "planner": settings.planner,
        "langsmith_tracing": _langsmith_enabled(),
    }


def _langsmith_enabled() -> bool:
    return any(
        os.environ.get(name, "").lower() == "true"
        for name in ("LANGSMITH_TRACING", "LANGSMITH_TRACING_V2", "LANGCHAIN_TRACING_V2")
    )


async def readiness_async(
    timeout_s: float | None = None, settings: Settings | None = None
) -> dict[str, Any]:
    """`readiness` off the event loop (for async routes)."""
    return await asyncio.to_thread(readiness, timeout_s, settings)


async def detailed_async(
    timeout_s: float | None = None, settings: Settings | None = None
) -> dict[str, Any]:
    """`detailed` off the event loop (for async routes)."""
    return await asyncio.to_thread(detailed, timeout_s, settings)

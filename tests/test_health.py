"""Health checks: each passes on a working install; a broken dependency fails fast, not ready."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import get_settings
from app.db import migrate
from app.db.base import engine_for
from app.observability import health


@pytest.fixture
def state_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated SQLite state database (and checkpoint file) under a temporary home."""
    url = f"sqlite:///{tmp_path / 'state' / 'flowwright.db'}"
    monkeypatch.setenv("FLOWWRIGHT_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("FLOWWRIGHT_DATABASE_URL", url)
    monkeypatch.delenv("FLOWWRIGHT_REDIS_URL", raising=False)
    get_settings.cache_clear()
    migrate.upgrade(url)
    yield url
    engine_for(url).dispose()
    migrate.forget_ensured(url)
    get_settings.cache_clear()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


def test_each_check_passes_and_readiness_is_ready(state_db: str) -> None:
    db = health.check_database()
    assert db["ok"], db
    assert db["name"] == "database" and db["detail"] == f"revision {migrate.head_revision()}"
    assert db["latency_ms"] >= 0
    assert health.check_checkpointer()["ok"]
    templates = health.check_templates()
    assert templates["ok"] and "templates parse" in (templates["detail"] or "")
    assert health.check_redis() is None  # not configured: not checked
    ready = health.readiness()
    assert ready["ready"] is True
    assert {c["name"] for c in ready["checks"]} == {"database", "checkpointer", "templates"}


def test_database_not_at_head_is_not_ready(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate.upgrade(url, "0001_run_history")
    try:
        result = health.check_database(url)
        assert not result["ok"] and "expected head" in (result["detail"] or "")
    finally:
        engine_for(url).dispose()


def test_database_on_a_closed_port_fails_within_its_timeout(
    state_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"postgresql+psycopg://flowwright:pw@127.0.0.1:{closed_port()}/flowwright"
    monkeypatch.setenv("FLOWWRIGHT_DATABASE_URL", url)
    get_settings.cache_clear()
    start = time.perf_counter()
    ready = health.readiness(timeout_s=3.0)
    assert time.perf_counter() - start < 3.5
    checks = {c["name"]: c for c in ready["checks"]}
    assert ready["ready"] is False
    assert checks["database"]["ok"] is False and checks["database"]["detail"]
    assert "pw@" not in str(checks["database"]["detail"])
    assert checks["templates"]["ok"] is True  # one failure does not hide the others
    engine_for(url).dispose()


def test_a_hanging_check_is_cut_off_at_its_deadline() -> None:
    start = time.perf_counter()
    result = health.run_check("slow", lambda: time.sleep(5) or "late", timeout_s=0.2)
    assert time.perf_counter() - start < 1.0
    assert result == {
        "name": "slow", "ok": False, "latency_ms": result["latency_ms"],
        "detail": "timed out after 0.2s",
    }  # fmt: skip


def test_a_raising_check_fails_with_its_reason() -> None:
    def probe() -> str:
        raise ConnectionError("refused\nsecond line")

    result = health.run_check("x", probe, timeout_s=1)
    assert result["ok"] is False and result["detail"] == "ConnectionError: refused"


def test_redis_with_a_bad_url_fails_and_makes_readiness_false(
    state_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = f"redis://:secretpw@127.0.0.1:{closed_port()}/0"
    result = health.check_redis(bad, timeout_s=1.0)
    assert result is not None and result["ok"] is False and result["name"] == "redis"
    malformed = health.check_redis("notredis://nowhere", timeout_s=1.0)
    assert malformed is not None and malformed["ok"] is False
    monkeypatch.setenv("FLOWWRIGHT_REDIS_URL", bad)
    get_settings.cache_clear()
    ready = health.readiness(timeout_s=1.0)
    assert ready["ready"] is False
    assert [c["ok"] for c in ready["checks"] if c["name"] == "redis"] == [False]


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[str]:
    """A throwaway local redis-server on a free port (skipped when Redis is not installed)."""
    import shutil
    import subprocess

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = closed_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_redis_ping_ok(redis_server: str, state_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    result = health.check_redis(redis_server, timeout_s=2)
    assert result is not None and result["ok"] and result["detail"] == "PONG", result
    monkeypatch.setenv("FLOWWRIGHT_REDIS_URL", redis_server)
    get_settings.cache_clear()
    ready = health.readiness()
    assert ready["ready"] is True and "redis" in {c["name"] for c in ready["checks"]}


def test_broken_or_missing_templates_fail(tmp_path: Path) -> None:
    assert not health.check_templates(tmp_path / "missing")["ok"]
    (tmp_path / "ok.py.j2").write_text("{{ name }}", encoding="utf-8")
    (tmp_path / "bad.md.j2").write_text("{% if x %}never closed", encoding="utf-8")
    result = health.check_templates(tmp_path)
    assert not result["ok"] and "bad.md.j2" in (result["detail"] or "")


def test_detailed_reports_versions_and_hides_passwords(
    state_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import platform

    info = health.detailed()
    assert info["ready"] is True
    assert info["python"] == platform.python_version()
    for package in ("langgraph", "langchain-core", "fastapi", "sqlalchemy", "pydantic"):
        assert info["packages"][package], package
    assert info["version"]
    monkeypatch.setenv("FLOWWRIGHT_REDIS_URL", "redis://:topsecret@127.0.0.1:1/0")
    get_settings.cache_clear()
    assert "topsecret" not in str(health.detailed(timeout_s=0.5))


def test_async_wrappers(state_db: str) -> None:
    import asyncio

    assert asyncio.run(health.readiness_async())["ready"] is True
    assert "packages" in asyncio.run(health.detailed_async())

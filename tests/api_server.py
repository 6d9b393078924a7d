"""Helpers for the API tests: a real uvicorn server in a subprocess, and in-process apps.

The server runs `flowwright serve` (the same path users take) on a random free 127.0.0.1 port
with its own SQLite database, so tests never share state or touch anything else.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.api.settings import ApiSettings

REPO = Path(__file__).resolve().parents[1]
PROBLEM = "application/problem+json"
PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_available(url: str = "redis://127.0.0.1:6379/0") -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:
        return False


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Environment of a server under test: own database, secret and no inherited FLOWWRIGHT_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWWRIGHT_")}
    env.update(
        FLOWWRIGHT_HOME=str(tmp_path / "home"),
        FLOWWRIGHT_DATABASE_URL=f"sqlite:///{tmp_path / 'api.db'}",
        FLOWWRIGHT_JWT_SECRET=secrets.token_urlsafe(48),
        FLOWWRIGHT_RATE_LIMIT_KEY_PREFIX=f"fwtest-{uuid.uuid4().hex}",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@dataclass
class Server:
    url: str
    env: dict[str, str]
    log: Path
    pid: int  # the server's process (and process group) id

    @property
    def database_url(self) -> str:
        return self.env["FLOWWRIGHT_DATABASE_URL"]


@contextmanager
def running_server(
    tmp_path: Path, *, workers: int = 1, timeout_s: float = 60, **env: str
) -> Iterator[Server]:
    """`flowwright serve` on a free port; stopped (its whole process group) afterwards."""
    port = free_port()
    full_env = base_env(tmp_path, **env)
    log = tmp_path / f"server-{port}.log"
    cmd = [
        *(sys.executable, "-m", "app.cli.main", "serve"),
        *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
        *("--log-level", "warning"),
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, env=full_env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited {proc.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not start:\n{log.read_text()}")
            time.sleep(0.1)
        if workers > 1:
            _wait_for_workers(url, workers)
        yield Server(url, full_env, log, proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_for_workers(url: str, workers: int) -> None:
    """Give every worker time to finish its lifespan start-up (one answering is not all)."""
    with httpx.Client(timeout=5) as client:
        for _ in range(workers * 10):
            client.get(f"{url}/health")
    time.sleep(1.0)


def api_settings(tmp_path: Path, **overrides: Any) -> ApiSettings:
    """In-process settings: own SQLite database, a random secret, no Redis."""
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'api.db'}",
        "jwt_secret": secrets.token_urlsafe(48),
        "redis_url": None,
        "api_dev_mode": False,
        "rate_limit_key_prefix": f"fwtest-{uuid.uuid4().hex}",
        "rate_limit_anonymous": "1000/minute",
        "rate_limit_authenticated": "1000/minute",
        "rate_limit_validation": "1000/minute",
    }
    values.update(overrides)
    return ApiSettings(**values)


def login(client: httpx.Client, name: str, password: str = PASSWORD, **extra: Any) -> dict:
    response = client.post(
        "/api/v1/auth/token",
        json={"grant_type": "password", "username": name, "password": password, **extra},
    )
    assert response.status_code == 200, response.text
    return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response: httpx.Response, status: int, code: str | None = None) -> dict:
    """The response is an RFC 9457 problem with `status` (and `code`), and leaks no internals."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body = response.json()
    for member in ("type", "title", "status", "detail", "instance", "code", "hint"):
        assert member in body, body
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code, body
    assert "Traceback" not in response.text and 'File "' not in response.text
    return body


needs_redis = pytest.mark.skipif(not redis_available(), reason="no Redis at 127.0.0.1:6379")

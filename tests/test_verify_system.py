"""`python verify_system.py`: passes on a fresh install, fails clearly without its database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def verify(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("FLOWWRIGHT_", "LANGSMITH_", "LANGCHAIN_"))}  # fmt: skip
    clean.update(
        FLOWWRIGHT_HOME=str(tmp_path / "home"),
        FLOWWRIGHT_WORKSPACE=str(tmp_path / "workspace"),
        COLUMNS="200",  # one table row per check
        **env,
    )
    return subprocess.run(
        [sys.executable, "verify_system.py", *args], cwd=ROOT, env=clean,
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip


def row(output: str, check: str) -> str:
    return next(line for line in output.splitlines() if line.strip("│ ").startswith(check + " "))


def test_fresh_install_passes(tmp_path: Path) -> None:
    done = verify(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    for check in ("database", "templates", "generate", "metrics"):
        assert " ok " in row(done.stdout, check), row(done.stdout, check)
    assert "skip" in row(done.stdout, "redis") and "skip" in row(done.stdout, "langsmith")
    assert "all checks ok" in done.stdout


def test_unreachable_database_fails_clearly(tmp_path: Path) -> None:
    done = verify(
        tmp_path, FLOWWRIGHT_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/none"
    )
    assert done.returncode == 1, done.stdout + done.stderr
    database = row(done.stdout, "database")
    assert "FAIL" in database and ("refused" in done.stdout or "connection" in done.stdout)
    assert "skip" in row(done.stdout, "generate")
    assert "Traceback" not in done.stdout + done.stderr


def test_database_behind_is_reported_and_migrated_on_request(tmp_path: Path) -> None:
    from app.db import migrate

    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate.upgrade(url, "0001_run_history")
    behind = verify(tmp_path, FLOWWRIGHT_DATABASE_URL=url)
    assert behind.returncode == 1 and "FAIL" in row(behind.stdout, "database")
    assert "0001_run_history" in behind.stdout and "--migrate" in behind.stdout
    fixed = verify(tmp_path, "--migrate", FLOWWRIGHT_DATABASE_URL=url)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert migrate.current_revision(url) == migrate.head_revision()

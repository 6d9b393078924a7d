"""Shared pytest fixtures (keep generic: other test modules build on these)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import get_settings


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh workspace directory set as FLOWWRIGHT_WORKSPACE, with no LLM configured."""
    root = tmp_path / "workspace"
    root.mkdir()
    monkeypatch.setenv("FLOWWRIGHT_WORKSPACE", str(root))
    monkeypatch.delenv("FLOWWRIGHT_LLM_MODEL", raising=False)
    get_settings.cache_clear()
    yield root
    get_settings.cache_clear()


@pytest.fixture
def trace_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated SQLite state database under a fresh FLOWWRIGHT_HOME; its URL."""
    from app.db import migrate
    from app.db.base import engine_for

    url = f"sqlite:///{tmp_path / 'home' / 'flowwright.db'}"
    monkeypatch.setenv("FLOWWRIGHT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FLOWWRIGHT_DATABASE_URL", url)
    get_settings.cache_clear()
    migrate.upgrade(url)
    yield url
    for wait in (True, False):
        engine_for(url, wait_for_disk=wait).dispose()
    migrate.forget_ensured(url)
    get_settings.cache_clear()

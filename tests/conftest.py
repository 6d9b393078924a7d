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

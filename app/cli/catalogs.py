"""The catalog a command works with, and whether a tool's requirements are configured.

Imported inside commands only: it pulls in LangChain and the tool registry.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from app.tools.registry import Catalog, load_catalog

# Which setting satisfies each requirement (DESIGN §3, app/config.py).
REQUIREMENT_SETTINGS = {
    "llm": "llm_model",
    "smtp": "smtp_host",
    "database": "sql_url",
}


def cli_catalog(catalog_file: str | None, modules: Sequence[str] | None) -> Catalog:
    """Built-in tools plus `--module`s, or a TaskBench `--catalog` file instead of them."""
    return load_catalog(modules=list(modules or ()), taskbench=catalog_file)


def requirement_status(requirement: str) -> dict[str, Any]:
    """`{name, setting, env, configured}`; `configured` is None when settings fail to load."""
    setting = REQUIREMENT_SETTINGS.get(requirement, requirement)
    env = f"FLOWWRIGHT_{setting.upper()}"
    try:
        from app.config import get_settings

        configured: bool | None = bool(getattr(get_settings(), setting, None))
    except Exception:  # invalid environment: report "unknown" rather than failing `tools show`
        configured = None
    return {"name": requirement, "setting": setting, "env": env, "configured": configured}


def step_id_for(tool_name: str) -> str:
    """A valid step id derived from a tool name (TaskBench names may contain spaces)."""
    ident = re.sub(r"\W+", "_", tool_name).strip("_") or "step"
    return ident if not ident[0].isdigit() else f"step_{ident}"

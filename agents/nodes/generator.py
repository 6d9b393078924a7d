"""The generator agent: render the workflow-target artifacts and move them into the out dir."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig

from agents.nodes.common import agent_node
from agents.state import GenContext, GenState, error_dict
from app.observability.metrics import observe_artifacts
from app.workflow.spec import WorkflowSpec


def _describe(update: dict[str, Any]) -> str:
    if update.get("error"):
        return f"failed: {update['error']['message']}"
    return f"wrote {len(update.get('artifacts') or [])} artifact(s)"


@agent_node("generator", _describe)
async def generator_node(
    state: GenState, context: GenContext, config: RunnableConfig
) -> dict[str, Any]:
    """Render every artifact in memory, then write them all at once (never partial output)."""
    from agents.artifacts import RenderError, render_artifacts, write_artifacts

    options = state.get("options") or {}
    source = (state.get("catalog") or {}).get("source", "builtin")
    spec = WorkflowSpec.model_validate(state["plan"])
    out_dir = options.get("out_dir") or str(
        Path(options.get("out_root") or "generated") / spec.name.replace(" ", "-")
    )
    try:
        files = render_artifacts(
            spec,
            context.catalog,
            request=state.get("request", ""),
            # A TaskBench catalog is kept by path; built-in and in-process catalogs ("custom":
            # the API's built-in tools plus entry points) load with `load_catalog()`.
            catalog_file=None if source in ("builtin", "custom") else source,
        )
        written = await asyncio.to_thread(write_artifacts, files, out_dir)
    except RenderError as exc:
        return {"status": "failed", "error": error_dict(exc.code, exc.message, exc.hint)}
    observe_artifacts(state.get("target") or "workflow", len(files))  # after the write succeeded
    return {
        "artifacts": written,
        "status": "generated",
        "phase": "artifacts",
        "options": {**options, "out_dir": out_dir},
    }


def route_after_generator(state: GenState) -> str:
    return "end" if state.get("status") == "failed" else "validator"

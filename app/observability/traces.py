"""Reading the local trace store: list traces, rebuild one as a tree, export it for LangSmith.

A trace is read with one indexed query (``trace_id``) and assembled in memory; a workflow run
traced by the engine is one row whose document expands into its step and attempt runs here
(`app.observability.run_trace.expand_document`). Listing reads only root rows plus one
grouped count. The export format is LangSmith's run schema (``id``,
``trace_id``, ``dotted_order``, ``parent_run_id``, ``extra.metadata``...), so exported traces can
be replayed into LangSmith or read by any tool that understands it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import undefer

from app.db.sessions import state_session as _session
from app.db.trace_models import TraceRun
from app.db.values import as_utc
from app.errors import FlowwrightError
from app.observability.trace_writer import flush_trace_writes


class TraceNotFoundError(FlowwrightError):
    code = "TRACE_NOT_FOUND"


class TraceSummary(BaseModel):
    """One row of `list_traces`: the root run of a trace."""

    trace_id: str
    name: str
    run_type: str
    status: str
    start_time: datetime
    end_time: datetime | None
    duration_ms: float | None
    job_id: str | None
    run_id: str | None
    runs: int
    tags: list[str] = Field(default_factory=list)


class TraceNode(BaseModel):
    """A run in a trace tree, with its children in start order."""

    id: str
    parent_run_id: str | None
    name: str
    run_type: str
    status: str
    start_time: datetime
    end_time: datetime | None
    duration_ms: float | None
    error: str | None = None
    inputs: Any = None
    outputs: Any = None
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    children: list[TraceNode] = Field(default_factory=list)


class TraceTree(BaseModel):
    """A whole trace: its ids, the root run (and through it every run) and the run count."""

    trace_id: str
    job_id: str | None
    run_id: str | None
    runs: int
    root: TraceNode


def _duration_ms(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((as_utc(end) - as_utc(start)).total_seconds() * 1000, 3)  # type: ignore[operator]


def list_traces(
    limit: int = 20,
    job_id: str | None = None,
    run_id: str | None = None,
    offset: int = 0,
    url: str | None = None,
) -> list[TraceSummary]:
    """Traces newest first, optionally only those of a generator job or a workflow run."""
    flush_trace_writes()
    query = select(TraceRun).where(TraceRun.parent_run_id.is_(None))
    if job_id is not None:
        query = query.where(TraceRun.job_id == job_id)
    if run_id is not None:
        query = query.where(TraceRun.workflow_run_id == run_id)
    query = query.order_by(TraceRun.start_time.desc()).limit(limit).offset(offset)
    with _session(url) as session:
        roots = list(session.scalars(query))
        counts: dict[str, int] = {}
        if roots:
            ids = [r.trace_id for r in roots]
            counted = session.execute(
                select(TraceRun.trace_id, func.sum(func.coalesce(TraceRun.run_count, 1)))
                .where(TraceRun.trace_id.in_(ids))
                .group_by(TraceRun.trace_id)
            )
            counts = {trace_id: n for trace_id, n in counted}
    return [
        TraceSummary(
            trace_id=r.trace_id,
            name=r.name,
            run_type=r.run_type,
            status=r.status,
            start_time=as_utc(r.start_time),  # type: ignore[arg-type]
            end_time=as_utc(r.end_time),
            duration_ms=_duration_ms(r.start_time, r.end_time),
            job_id=r.job_id,
            run_id=r.workflow_run_id,
            runs=counts.get(r.trace_id, 1),
            tags=r.tags or [],
        )
        for r in roots
    ]


def _rows(trace_id: str, url: str | None = None) -> list[TraceRun]:
    flush_trace_writes()
    with _session(url) as session:
        rows = list(
            session.scalars(
                select(TraceRun)
                .where(TraceRun.trace_id == trace_id)
                .order_by(TraceRun.dotted_order)
                .options(undefer(TraceRun.runs_document))
            )
        )
        if not rows:
            # Accept a unique prefix, as printed by `flowwright traces list`.
            like = trace_id.replace("%", "").replace("_", "")
            if len(like) >= 6:
                matches = list(
                    session.scalars(
                        select(TraceRun.trace_id)
                        .where(TraceRun.parent_run_id.is_(None))
                        .where(TraceRun.trace_id.startswith(like))
                        .limit(2)
                    )
                )
                if len(matches) == 1:
                    return _rows(matches[0], url)
    if not rows:
        raise TraceNotFoundError(
            f"no trace {trace_id}", hint="List stored traces with `flowwright traces list`."
        )
    return _expanded(rows)


def _expanded(rows: list[TraceRun]) -> list[TraceRun]:
    """The rows with every compact workflow run's document expanded into (unsaved) rows, in
    dotted order like the stored ones."""
    from app.observability.run_trace import expand_document

    if all(row.runs_document is None for row in rows):
        return rows
    expanded = list(rows)
    for row in rows:
        if row.runs_document is not None:
            runs = expand_document(
                row.trace_id, row.id, row.dotted_order, row.workflow_run_id, row.runs_document
            )
            expanded.extend(TraceRun(**values) for values in runs)
    return sorted(expanded, key=lambda row: row.dotted_order)


def _inherited(rows: list[TraceRun]) -> tuple[list[str], dict[str, Any]]:
    """The root's tags and metadata: every run inherits them (its own metadata wins)."""
    root = next((r for r in rows if r.parent_run_id is None), rows[0])
    return root.tags or [], root.run_metadata or {}


def _node(row: TraceRun, inherited: tuple[list[str], dict[str, Any]]) -> TraceNode:
    return TraceNode(
        id=row.id,
        parent_run_id=row.parent_run_id,
        name=row.name,
        run_type=row.run_type,
        status=row.status,
        start_time=as_utc(row.start_time),  # type: ignore[arg-type]
        end_time=as_utc(row.end_time),
        duration_ms=_duration_ms(row.start_time, row.end_time),
        error=row.error,
        inputs=row.inputs,
        outputs=row.outputs,
        tags=row.tags if row.tags is not None else inherited[0],
        metadata={**inherited[1], **(row.run_metadata or {})},
    )


def get_trace(trace_id: str, url: str | None = None) -> TraceTree:
    """The trace as a tree (children in start order); raises TRACE_NOT_FOUND when unknown."""
    rows = _rows(trace_id, url)
    inherited = _inherited(rows)
    nodes = {row.id: _node(row, inherited) for row in rows}
    root = next((nodes[r.id] for r in rows if r.parent_run_id is None), nodes[rows[0].id])
    for row in rows:  # dotted order: parents come before their children
        node = nodes[row.id]
        if node is not root:  # a run whose parent was not stored hangs under the root
            nodes.get(row.parent_run_id or "", root).children.append(node)
    top = rows[0]
    return TraceTree(
        trace_id=top.trace_id, job_id=top.job_id, run_id=top.workflow_run_id, runs=len(rows),
        root=root,
    )  # fmt: skip


def _iso(value: datetime | None) -> str | None:
    value = as_utc(value)
    return value.isoformat() if value is not None else None


def export_trace(trace_id: str, url: str | None = None) -> list[dict[str, Any]]:
    """Every run of a trace in LangSmith's run format, parents before children."""
    rows = _rows(trace_id, url)
    tags, metadata = _inherited(rows)
    return [
        {
            "id": row.id,
            "trace_id": row.trace_id,
            "dotted_order": row.dotted_order,
            "parent_run_id": row.parent_run_id,
            "name": row.name,
            "run_type": row.run_type,
            "start_time": _iso(row.start_time),
            "end_time": _iso(row.end_time),
            "inputs": row.inputs if row.inputs is not None else {},
            "outputs": row.outputs,
            "error": row.error,
            "extra": {"metadata": {**metadata, **(row.run_metadata or {})}},
            "tags": row.tags if row.tags is not None else tags,
        }
        for row in rows
    ]

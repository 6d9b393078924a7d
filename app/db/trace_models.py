"""The local trace store: one row per LangChain run (graph, node, tool, LLM call).

Rows mirror LangSmith's run format (id, trace_id, dotted_order, parent_run_id, ...) so a stored
trace exports to LangSmith's shape without conversion, and a whole trace is one indexed read by
`trace_id`. There is no foreign key from a run to its parent on purpose: a trace is written in
one batch when its root ends, in any order. `job_id` and `workflow_run_id` are copied from the
run's metadata onto every row so traces can be listed by job or workflow run cheaply.

A workflow run traced by the engine itself is stored compactly: its root row carries the
engine's record of the steps and tool attempts (`runs_document`), which the readers expand into
the same runs (`app.observability.run_trace.expand_document`). One row instead of one per step
and attempt is most of what keeps tracing a long run cheap.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base

Json = JSON(none_as_null=True)
RUN_UUID_LENGTH = 36


class TraceRun(Base):
    """One traced run; the trace's root has ``parent_run_id IS NULL`` and ``id == trace_id``."""

    __tablename__ = "trace_runs"
    __table_args__ = (Index("ix_trace_runs_root_start", "parent_run_id", "start_time"),)

    id: Mapped[str] = mapped_column(String(RUN_UUID_LENGTH), primary_key=True)
    trace_id: Mapped[str] = mapped_column(String(RUN_UUID_LENGTH), index=True)
    parent_run_id: Mapped[str | None] = mapped_column(String(RUN_UUID_LENGTH))
    dotted_order: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(String(200))
    run_type: Mapped[str] = mapped_column(String(32))
    start_time: Mapped[datetime]
    end_time: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))  # success | error | pending
    error: Mapped[str | None] = mapped_column(Text)
    inputs: Mapped[Any] = mapped_column(Json, nullable=True)
    outputs: Mapped[Any] = mapped_column(Json, nullable=True)
    tags: Mapped[list[str] | None] = mapped_column(Json)
    run_metadata: Mapped[dict[str, Any] | None] = mapped_column(Json)
    job_id: Mapped[str | None] = mapped_column(String(64), index=True)
    workflow_run_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # Compact workflow traces (root rows only): the steps and attempts, and how many runs the
    # trace has in all once they are expanded.
    runs_document: Mapped[Any] = mapped_column(Json, nullable=True, deferred=True)
    run_count: Mapped[int | None] = mapped_column(Integer)

"""Run history tables: one row per run and one per step result.

A run row keeps the full spec as JSON so a run can be listed, inspected, resumed or approved from
history alone (the checkpoint holds the graph state, the row holds what is needed to rebuild the
graph). Every change here needs a migration under `app/db/migrations/versions/`; the test suite
compares the two.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base, utcnow

# SQL NULL (not JSON `null`) for absent values, so `IS NULL` filters mean what they say.
Json = JSON(none_as_null=True)

RUN_ID_LENGTH = 64


class RunRow(Base):
    """A workflow run: what was run (spec, inputs), by whom, and how it ended."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(RUN_ID_LENGTH), primary_key=True)
    workflow: Mapped[str] = mapped_column(String(120), index=True)
    spec_json: Mapped[dict[str, Any]] = mapped_column(Json)
    spec_hash: Mapped[str] = mapped_column(String(64))
    inputs_json: Mapped[dict[str, Any]] = mapped_column(Json)
    status: Mapped[str] = mapped_column(String(32), index=True)
    dry_run: Mapped[bool] = mapped_column(default=False)
    batch_id: Mapped[str | None] = mapped_column(String(64), index=True)
    owner_id: Mapped[str | None] = mapped_column(String(64), index=True)
    trace_id: Mapped[str | None] = mapped_column(String(64))
    waiting_for: Mapped[str | None] = mapped_column(String(64))
    error_json: Mapped[dict[str, Any] | None] = mapped_column(Json)
    outputs_json: Mapped[dict[str, Any] | None] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    steps: Mapped[list[StepResultRow]] = relationship(
        back_populates="run",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="StepResultRow.position",
    )


class StepResultRow(Base):
    """The latest result of one step of a run (upserted after every resume or approval)."""

    __tablename__ = "step_results"
    __table_args__ = (UniqueConstraint("run_id", "step_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(
        String(RUN_ID_LENGTH), ForeignKey("runs.id", ondelete="CASCADE")
    )
    step_id: Mapped[str] = mapped_column(String(64))
    tool: Mapped[str] = mapped_column(String(200))
    position: Mapped[int]
    status: Mapped[str] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    duration_ms: Mapped[float | None]
    error_json: Mapped[dict[str, Any] | None] = mapped_column(Json)
    item_errors_json: Mapped[list[Any] | None] = mapped_column(Json)
    output_json: Mapped[Any] = mapped_column(Json, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text)

    run: Mapped[RunRow] = relationship(back_populates="steps")

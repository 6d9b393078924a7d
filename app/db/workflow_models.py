"""API resource tables: saved workflows with immutable versions, generation jobs and their events,
and idempotency keys of run requests.

Everything a worker needs to answer about a resource is in these rows (not in process memory), so
any API worker can serve any request: a job started on one worker is listed, streamed (its events)
and downloaded by another. Every change here needs a migration (`0004_api_resources`, then
`0005_job_heartbeat`); `tests/test_db_migrations.py` compares the two.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base, utcnow

Json = JSON(none_as_null=True)
ID_LENGTH = 32
OWNER_LENGTH = 64


class WorkflowRow(Base):
    """A saved workflow: mutable metadata (name, description, tags) over immutable versions.

    `tag_index` is `|tag1|tag2|` so a tag filter is a portable LIKE on one column (no JSON
    operators that differ between SQLite and PostgreSQL, no extra table to join).
    """

    __tablename__ = "workflows"
    __table_args__ = (UniqueConstraint("owner_id", "name"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(OWNER_LENGTH), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON)
    tag_index: Mapped[str] = mapped_column(Text)
    latest_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    versions: Mapped[list[WorkflowVersionRow]] = relationship(
        back_populates="workflow",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="WorkflowVersionRow.version",
    )


class WorkflowVersionRow(Base):
    """One immutable version of a workflow's spec; never updated, deleted with its workflow."""

    __tablename__ = "workflow_versions"
    __table_args__ = (UniqueConstraint("workflow_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("workflows.id", ondelete="CASCADE")
    )
    version: Mapped[int]
    spec_json: Mapped[dict[str, Any]] = mapped_column(Json)
    spec_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(String(OWNER_LENGTH))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    workflow: Mapped[WorkflowRow] = relationship(back_populates="versions")


class JobRow(Base):
    """A generation job: the request and options in, the generator's result out."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(OWNER_LENGTH), index=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    request: Mapped[str] = mapped_column(Text)
    options_json: Mapped[dict[str, Any]] = mapped_column(Json)
    spec_json: Mapped[dict[str, Any] | None] = mapped_column(Json)
    diagnostics_json: Mapped[list[Any] | None] = mapped_column(Json)
    checks_json: Mapped[list[Any] | None] = mapped_column(Json)
    artifacts_json: Mapped[list[Any] | None] = mapped_column(Json)
    run_json: Mapped[dict[str, Any] | None] = mapped_column(Json)
    approval_json: Mapped[dict[str, Any] | None] = mapped_column(Json)
    notes_json: Mapped[list[Any] | None] = mapped_column(Json)
    error_json: Mapped[dict[str, Any] | None] = mapped_column(Json)
    trace_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Set by the worker running the job while it runs; stale means the worker is gone.
    heartbeat_at: Mapped[datetime | None]


class JobEventRow(Base):
    """One progress event of a job, in emission order (`id` is the SSE event id)."""

    __tablename__ = "job_events"
    __table_args__ = (Index("ix_job_events_job_id_id", "job_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("jobs.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(64))
    node: Mapped[str | None] = mapped_column(String(64))
    data_json: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdempotencyKeyRow(Base):
    """An `Idempotency-Key` a user sent, the hash of the request it came with, and its result."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("owner_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(OWNER_LENGTH))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

"""Compact workflow traces: the engine's record of a run kept on the trace's root row.

Revision ID: 0006_compact_traces
Revises: 0005_job_heartbeat
Create Date: 2026-11-27

A workflow run's trace was stored as one row per step and tool attempt (101 rows and 505 index
entries for a 100-step run), which cost more than everything else tracing does. The engine's
record of the steps and attempts now goes into `runs_document` on the root row and the readers
expand it into the same runs; `run_count` lets `traces list` count them without reading it.
Hand-written to match `app.db.trace_models`; `tests/test_db_migrations.py` checks that they agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_compact_traces"
down_revision: str | Sequence[str] | None = "0005_job_heartbeat"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("trace_runs") as batch:
        batch.add_column(sa.Column("runs_document", sa.JSON(none_as_null=True), nullable=True))
        batch.add_column(sa.Column("run_count", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("trace_runs") as batch:
        batch.drop_column("run_count")
        batch.drop_column("runs_document")

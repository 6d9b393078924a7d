"""Local trace store: the `trace_runs` table.

Revision ID: 0003_traces
Revises: 0002_auth
Create Date: 2025-01-03

Hand-written to match `app.db.trace_models`; `tests/test_db_migrations.py` checks that they agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_traces"
down_revision: str | Sequence[str] | None = "0002_auth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)
UUID = sa.String(36)


def upgrade() -> None:
    op.create_table(
        "trace_runs",
        sa.Column("id", UUID, nullable=False),
        sa.Column("trace_id", UUID, nullable=False),
        sa.Column("parent_run_id", UUID, nullable=True),
        sa.Column("dotted_order", sa.Text(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("run_type", sa.String(32), nullable=False),
        sa.Column("start_time", TZ, nullable=False),
        sa.Column("end_time", TZ, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("inputs", sa.JSON(), nullable=True),
        sa.Column("outputs", sa.JSON(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=True),
        sa.Column("run_metadata", sa.JSON(), nullable=True),
        sa.Column("job_id", sa.String(64), nullable=True),
        sa.Column("workflow_run_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trace_runs")),
    )
    op.create_index(op.f("ix_trace_runs_trace_id"), "trace_runs", ["trace_id"], unique=False)
    op.create_index(op.f("ix_trace_runs_job_id"), "trace_runs", ["job_id"], unique=False)
    op.create_index(
        op.f("ix_trace_runs_workflow_run_id"), "trace_runs", ["workflow_run_id"], unique=False
    )
    op.create_index(
        "ix_trace_runs_root_start", "trace_runs", ["parent_run_id", "start_time"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_trace_runs_root_start", table_name="trace_runs")
    op.drop_index(op.f("ix_trace_runs_workflow_run_id"), table_name="trace_runs")
    op.drop_index(op.f("ix_trace_runs_job_id"), table_name="trace_runs")
    op.drop_index(op.f("ix_trace_runs_trace_id"), table_name="trace_runs")
    op.drop_table("trace_runs")

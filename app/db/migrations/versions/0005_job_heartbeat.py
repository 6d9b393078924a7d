"""Job liveness: `jobs.heartbeat_at`, updated by the worker running the job.

Revision ID: 0005_job_heartbeat
Revises: 0004_api_resources
Create Date: 2026-11-27

A job whose worker died without recording it (SIGKILL, a crash, a lost machine) stays queued
or running; a stale heartbeat tells any worker that it is lost. Hand-written to match
`app.db.workflow_models`; `tests/test_db_migrations.py` checks that they agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_job_heartbeat"
down_revision: str | Sequence[str] | None = "0004_api_resources"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("heartbeat_at")

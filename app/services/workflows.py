"""Saved workflows: CRUD over immutable versions, search, tags, and run idempotency keys.

A workflow's metadata (name, description, tags) is mutable; its spec is not: every update writes
a new `workflow_versions` row, so a run can always name exactly what it ran. Optimistic
concurrency uses the version number (the API's ETag): an update names the version it read, and a
concurrent writer that got there first makes the unique `(workflow_id, version)` constraint fail,
which is reported as a conflict instead of silently overwriting.

Functions are synchronous (the API calls them from the threadpool) and take the database URL, so
they never depend on process-global settings.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.base import utcnow
from app.db.history import spec_hash
from app.db.sessions import state_session as _session
from app.db.values import as_utc
from app.db.workflow_models import IdempotencyKeyRow, WorkflowRow, WorkflowVersionRow
from app.errors import FlowwrightError
from app.workflow.spec import WorkflowSpec

IDEMPOTENCY_TTL = timedelta(hours=24)


class WorkflowNotFound(FlowwrightError):
    code = "NOT_FOUND"


class WorkflowConflict(FlowwrightError):
    """A name already taken by the owner, or a version written concurrently."""

    code = "CONFLICT"


class VersionMismatch(FlowwrightError):
    """`If-Match` named a version that is no longer the latest."""

    code = "PRECONDITION_FAILED"


class WorkflowSummary(BaseModel):
    id: str
    owner_id: str
    name: str
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    version: int = Field(description="The latest version number (also the ETag).")
    created_at: datetime
    updated_at: datetime


class WorkflowVersion(BaseModel):
    workflow_id: str
    version: int
    spec_hash: str
    created_by: str | None = None
    created_at: datetime
    spec: dict[str, Any] = Field(description="The workflow spec of this version (plain data).")


class Workflow(WorkflowSummary):
    spec: dict[str, Any] = Field(description="The spec of the latest version (plain data).")


def _tag_index(tags: list[str]) -> str:
    return "|" + "|".join(tags) + "|" if tags else ""


def _summary(row: WorkflowRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "owner_id": row.owner_id,
        "name": row.name,
        "description": row.description,
        "tags": list(row.tags or []),
        "version": row.latest_version,
        "created_at": as_utc(row.created_at),
        "updated_at": as_utc(row.updated_at),
    }


def _version(row: WorkflowVersionRow) -> WorkflowVersion:
    return WorkflowVersion(
        workflow_id=row.workflow_id,
        version=row.version,
        spec_hash=row.spec_hash,
        created_by=row.created_by,
        created_at=as_utc(row.created_at),  # type: ignore[arg-type]
        spec=row.spec_json,
    )


def _latest(session: Session, row: WorkflowRow) -> Workflow:
    version = session.scalars(
        select(WorkflowVersionRow).where(
            WorkflowVersionRow.workflow_id == row.id,
            WorkflowVersionRow.version == row.latest_version,
        )
    ).one()
    return Workflow(**_summary(row), spec=version.spec_json)


def _owned(session: Session, workflow_id: str, owner_id: str | None) -> WorkflowRow:
    """The row, if it exists and (unless `owner_id` is None: admin) belongs to `owner_id`."""
    row = session.get(WorkflowRow, workflow_id)
    if row is None or (owner_id is not None and row.owner_id != owner_id):
        raise WorkflowNotFound(f"workflow {workflow_id!r} not found")
    return row


def _name_taken(name: str) -> WorkflowConflict:
    return WorkflowConflict(
        f"you already have a workflow named {name!r}",
        code="WORKFLOW_NAME_TAKEN",
        hint="Pick another name, or PUT a new version of the existing workflow.",
    )


def create(
    url: str,
    *,
    owner_id: str,
    name: str,
    description: str | None,
    tags: list[str],
    spec: WorkflowSpec,
) -> Workflow:
    """A new workflow at version 1; a duplicate name (per owner) is a conflict."""
    now = utcnow()
    row = WorkflowRow(
        id=uuid.uuid4().hex,
        owner_id=owner_id,
        name=name,
        description=description,
        tags=tags,
        tag_index=_tag_index(tags),
        latest_version=1,
        created_at=now,
        updated_at=now,
    )
    data = spec.to_data()
    try:
        with _session(url) as session:
            session.add(row)
            session.flush()
            session.add(
                WorkflowVersionRow(
                    workflow_id=row.id,
                    version=1,
                    spec_json=data,
                    spec_hash=spec_hash(spec),
                    created_by=owner_id,
                    created_at=now,
                )
            )
    except IntegrityError as exc:
        raise _name_taken(name) from exc
    return Workflow(**_summary(row), spec=data)


def update(
    url: str,
    workflow_id: str,
    *,
    owner_id: str | None,
    actor_id: str,
    spec: WorkflowSpec,
    expected_version: int | None,
    name: str | None = None,
    description: str | None = None,
    tags: list[str] | None = None,
) -> Workflow:
    """Write the next immutable version (and any metadata change) if `expected_version` holds."""
    try:
        with _session(url) as session:
            row = _owned(session, workflow_id, owner_id)
            if expected_version is not None and expected_version != row.latest_version:
                raise VersionMismatch(
                    f"workflow {workflow_id} is at version {row.latest_version}, "
                    f"not {expected_version}",
                    hint="GET the workflow again, re-apply your change, and send its ETag.",
                )
            now = utcnow()
            new_version = row.latest_version + 1
            session.add(
                WorkflowVersionRow(
                    workflow_id=row.id,
                    version=new_version,
                    spec_json=spec.to_data(),
                    spec_hash=spec_hash(spec),
                    created_by=actor_id,
                    created_at=now,
                )
            )
            row.latest_version = new_version
            row.updated_at = now
            if name is not None:
                row.name = name
            if description is not None:
                row.description = description
            if tags is not None:
                row.tags = tags
                row.tag_index = _tag_index(tags)
            session.flush()
            return _latest(session, row)
    except IntegrityError as exc:
        if name is not None and "version" not in str(exc.orig).lower():
            raise _name_taken(name) from exc
        raise WorkflowConflict(
            f"workflow {workflow_id} was updated concurrently",
            code="VERSION_CONFLICT",
            hint="GET the workflow again and retry with its current ETag.",
        ) from exc


def get(url: str, workflow_id: str, *, owner_id: str | None) -> Workflow:
    with _session(url) as session:
        return _latest(session, _owned(session, workflow_id, owner_id))


def get_version(
    url: str, workflow_id: str, version: int, *, owner_id: str | None
) -> WorkflowVersion:
    with _session(url) as session:
        _owned(session, workflow_id, owner_id)
        row = session.scalars(
            select(WorkflowVersionRow).where(
                WorkflowVersionRow.workflow_id == workflow_id,
                WorkflowVersionRow.version == version,
            )
        ).one_or_none()
        if row is None:
            raise WorkflowNotFound(f"workflow {workflow_id!r} has no version {version}")
        return _version(row)


def list_versions(
    url: str, workflow_id: str, *, owner_id: str | None, limit: int, offset: int
) -> tuple[list[WorkflowVersion], int]:
    """Versions newest first, with the total count."""
    with _session(url) as session:
        _owned(session, workflow_id, owner_id)
        where = WorkflowVersionRow.workflow_id == workflow_id
        total = session.scalar(select(func.count()).select_from(WorkflowVersionRow).where(where))
        rows = session.scalars(
            select(WorkflowVersionRow)
            .where(where)
            .order_by(WorkflowVersionRow.version.desc())
            .limit(limit)
            .offset(offset)
        ).all()
        return [_version(r) for r in rows], int(total or 0)


def search(
    url: str,
    *,
    owner_id: str | None,
    q: str | None,
    tag: str | None,
    limit: int,
    offset: int,
) -> tuple[list[WorkflowSummary], int]:
    """Workflows newest first whose name or description contains `q` (any case), with `tag`."""
    query = select(WorkflowRow)
    if owner_id is not None:
        query = query.where(WorkflowRow.owner_id == owner_id)
    if q:
        needle = q.lower()
        query = query.where(
            or_(
                func.lower(WorkflowRow.name).contains(needle, autoescape=True),
                func.lower(func.coalesce(WorkflowRow.description, "")).contains(
                    needle, autoescape=True
                ),
            )
        )
    if tag:
        query = query.where(WorkflowRow.tag_index.contains(f"|{tag}|", autoescape=True))
    with _session(url) as session:
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.scalars(
            query.order_by(WorkflowRow.created_at.desc(), WorkflowRow.id.desc())
            .limit(limit)
            .offset(offset)
        ).all()
        return [WorkflowSummary(**_summary(r)) for r in rows], int(total or 0)


def remove(url: str, workflow_id: str, *, owner_id: str | None) -> None:
    """Delete the workflow and all its versions (runs keep their own copy of the spec)."""
    with _session(url) as session:
        row = _owned(session, workflow_id, owner_id)
        session.execute(
            delete(WorkflowVersionRow).where(WorkflowVersionRow.workflow_id == workflow_id)
        )
        session.delete(row)


# --- idempotency keys ----------------------------------------------------------------------------


def request_hash(*parts: Any) -> str:
    """A stable hash of what a request asked for (canonical JSON of `parts`)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def claim_key(url: str, owner_id: str, key: str, digest: str, resource_id: str) -> tuple[str, bool]:
    """Claim `key` for `resource_id`: returns (resource id, replayed).

    An existing unexpired claim with the same request hash returns its resource (replayed=True);
    with another hash, `WorkflowConflict`. Expired claims are replaced. The unique constraint
    settles races: the loser re-reads the winner's claim.
    """
    for _ in range(2):
        with _session(url) as session:
            row = session.scalars(
                select(IdempotencyKeyRow).where(
                    IdempotencyKeyRow.owner_id == owner_id, IdempotencyKeyRow.key == key
                )
            ).one_or_none()
            if row is not None and as_utc(row.created_at) < utcnow() - IDEMPOTENCY_TTL:  # type: ignore[operator]
                session.delete(row)
                session.flush()
                row = None
            if row is not None:
                if row.request_hash != digest:
                    raise WorkflowConflict(
                        "this Idempotency-Key was already used with a different request",
                        code="IDEMPOTENCY_KEY_REUSED",
                        hint="Use a new Idempotency-Key for a different request.",
                    )
                return row.resource_id, True
        try:
            with _session(url) as session:
                session.add(
                    IdempotencyKeyRow(
                        owner_id=owner_id, key=key, request_hash=digest, resource_id=resource_id
                    )
                )
            return resource_id, False
        except IntegrityError:
            continue  # a concurrent request claimed it first: read its claim
    raise WorkflowConflict("Idempotency-Key is contended", hint="Retry the request.")


def release_key(url: str, owner_id: str, key: str) -> None:
    """Forget a claim whose request failed before creating anything, so the key can be reused."""
    with _session(url) as session:
        session.execute(
            delete(IdempotencyKeyRow).where(
                IdempotencyKeyRow.owner_id == owner_id, IdempotencyKeyRow.key == key
            )
        )

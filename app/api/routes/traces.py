"""`GET /traces` (admin) and `GET /traces/{trace_id}`: traces from the local trace store.

Ownership: a trace carries the ids of what it traced in its root's metadata (``run_id`` for a
workflow run, ``job_id`` for a generator job). A caller with the read scope sees a trace when it
is an admin, owns the workflow run named by ``run_id`` (the run history stores each run's owner)
or owns the generation job named by ``job_id`` (the ``jobs`` table, when this installation has
it; without it, job traces are admin-only). A trace that names neither (e.g. started from the
CLI, which has no user) is admin-only. Anything else answers the same 404 as an unknown id, so
trace ids cannot be probed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from slowapi import Limiter

from app.api.deps import Principal, require_scope
from app.api.problems import ApiProblem, problem_responses
from app.api.routes.common import strict_query
from app.api.settings import ApiSettings
from app.observability.traces import TraceNotFoundError, TraceSummary, TraceTree

Reader = Annotated[Principal, Depends(require_scope("read"))]
Admin = Annotated[Principal, Depends(require_scope("admin"))]
TraceId = Annotated[str, Path(min_length=6, max_length=64, pattern=r"^[0-9a-fA-F-]+$")]


def _not_found(trace_id: str) -> ApiProblem:
    return ApiProblem(
        404, f"trace {trace_id} not found", code="NOT_FOUND",
        hint="List traces with GET /api/v1/traces (admin) or `flowwright traces list`.",
    )  # fmt: skip


def _owner(table: str, row_id: str, url: str) -> str | None:
    """The `owner_id` of one row of `runs` or `jobs`, None when absent (or no such table)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from app.db.base import engine_for

    if table == "runs":
        from app.db.models import RunRow as Row
    else:
        try:
            from app.db.workflow_models import JobRow as Row  # type: ignore[assignment]
        except ImportError:  # an installation without persisted jobs: admin only
            return None
    with Session(engine_for(url)) as session:
        return session.scalar(select(Row.owner_id).where(Row.id == row_id))


def may_read(principal: Principal, tree: TraceTree, url: str) -> bool:
    """Admins read every trace; others the traces of the runs and jobs they own."""
    if principal.has_scope("admin"):
        return True
    if tree.run_id and principal.owns(_owner("runs", tree.run_id, url)):
        return True
    return bool(tree.job_id) and principal.owns(_owner("jobs", tree.job_id, url))


def build_traces_router(limiter: Limiter, settings: ApiSettings) -> APIRouter:
    router = APIRouter(prefix="/traces", tags=["traces"])
    tier = settings.rate_limit_authenticated

    @router.get(
        "",
        response_model=list[TraceSummary],
        responses=problem_responses(401, 403, 422, 429),
        dependencies=[strict_query("limit", "offset", "job_id", "run_id")],
    )
    @limiter.limit(tier)
    def list_traces(
        request: Request,
        response: Response,
        principal: Admin,
        limit: Annotated[int, Query(ge=1, le=1000)] = 20,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
        job_id: Annotated[str | None, Query(max_length=64)] = None,
        run_id: Annotated[str | None, Query(max_length=64)] = None,
    ) -> list[TraceSummary]:
        """Stored traces, newest first (admin: traces of every user)."""
        from app.observability import traces

        url = request.app.state.settings.resolved_database_url
        return traces.list_traces(limit, job_id=job_id, run_id=run_id, offset=offset, url=url)

    @router.get(
        "/{trace_id}",
        response_model=TraceTree,
        responses=problem_responses(401, 403, 404, 422, 429),
    )
    @limiter.limit(tier)
    def get_trace(
        request: Request, response: Response, principal: Reader, trace_id: TraceId
    ) -> TraceTree:
        """One trace as a tree: every run with status, timing, inputs and outputs (redacted)."""
        from app.observability import traces

        url = request.app.state.settings.resolved_database_url
        try:
            tree = traces.get_trace(trace_id, url=url)
        except TraceNotFoundError:
            raise _not_found(trace_id) from None
        if not may_read(principal, tree, url):
            raise _not_found(trace_id)
        return tree

    return router

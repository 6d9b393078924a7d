"""Generation jobs: list, inspect, follow (SSE) and answer approvals.

Everything is read from the database, so any worker serves any job; the event stream polls
`job_events` every 200 ms, which works across workers without a message bus and costs one indexed
query per poll.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from slowapi import Limiter

from app.api.deps import Principal, owned_or_404, require_scope
from app.api.problems import ApiProblem, problem_responses
from app.api.routes.common import (
    KEEPALIVE,
    KEEPALIVE_S,
    MAX_PAGE,
    MAX_STREAM_S,
    POLL_S,
    SSE_HEADERS,
    EventStreamResponse,
    Page,
    owner_filter,
    resources,
    sse,
    sse_responses,
    strict_query,
)
from app.api.routes.generate import JobOut, job_out
from app.api.settings import ApiSettings
from app.services import jobs as job_store

JOB_ID = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="Job id.")]
Reader = Annotated[Principal, Depends(require_scope("read"))]
Generator = Annotated[Principal, Depends(require_scope("generate"))]
JOB_STATUSES = r"^(queued|running|succeeded|failed|rejected|waiting_approval|interrupted)$"


def owned_job(request: Request, job_id: str, principal: Principal) -> job_store.Job:
    """The caller's job (any job for admins); 404 for missing and foreign jobs alike."""
    job = job_store.get_job(resources(request).url, job_id)
    return owned_or_404(job, job.owner_id if job else None, principal, "job")


async def follow_job(url: str, job_id: str, after: int) -> AsyncIterator[str]:
    """Stored events after `after`, then new ones as they are stored, until the job stops."""
    last, last_sent = after, time.monotonic()
    deadline = last_sent + MAX_STREAM_S
    while time.monotonic() < deadline:
        events = await asyncio.to_thread(job_store.events_after, url, job_id, last)
        for event in events:
            last = event.id
            yield sse(event.kind, {**event.data, "seq": event.id}, event.id)
        if events:
            last_sent = time.monotonic()
            continue
        job = await asyncio.to_thread(job_store.get_job, url, job_id)
        if job is None or job.status not in job_store.ACTIVE:
            # Events are flushed before the final status is stored: nothing can follow now.
            for event in await asyncio.to_thread(job_store.events_after, url, job_id, last):
                last = event.id
                yield sse(event.kind, {**event.data, "seq": event.id}, event.id)
            status = job.status if job else "deleted"
            yield sse("end", {"job_id": job_id, "status": status})
            return
        if time.monotonic() - last_sent > KEEPALIVE_S:
            last_sent = time.monotonic()
            yield KEEPALIVE
        await asyncio.sleep(POLL_S)


def build_jobs_router(limiter: Limiter, settings: ApiSettings) -> APIRouter:
    router = APIRouter(prefix="/jobs", tags=["generation"])
    reads, writes = settings.rate_limit_authenticated, settings.rate_limit_generation

    @router.get(
        "",
        response_model=Page[JobOut],
        responses=problem_responses(401, 403, 422, 429),
        dependencies=[strict_query("status", "limit", "offset")],
    )
    @limiter.limit(reads)
    def list_jobs(
        request: Request,
        response: Response,
        principal: Reader,
        status: Annotated[str, Query(pattern=JOB_STATUSES)] = "",
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> Page[JobOut]:
        items, total = job_store.list_jobs(
            resources(request).url,
            owner_id=owner_filter(principal),
            status=status or None,
            limit=limit,
            offset=offset,
        )
        return Page[JobOut](
            items=[job_out(j) for j in items], total=total, limit=limit, offset=offset
        )

    @router.get(
        "/{job_id}", response_model=JobOut, responses=problem_responses(401, 403, 404, 422, 429)
    )
    @limiter.limit(reads)
    def get_job(request: Request, response: Response, principal: Reader, job_id: JOB_ID) -> JobOut:
        return job_out(owned_job(request, job_id, principal))

    @router.get(
        "/{job_id}/events",
        response_class=EventStreamResponse,
        responses={
            **sse_responses(
                "One event per agent step (node_started, node_finished, ...), "
                "then `end` with the job's status."
            ),
            **problem_responses(401, 403, 404, 422, 429),
        },
        summary="Follow a job's progress as Server-Sent Events",
    )
    @limiter.limit(reads)
    def job_events(
        request: Request,
        principal: Reader,
        job_id: JOB_ID,
        last_event_id: Annotated[
            str, Header(pattern=r"^[0-9]{1,18}$", description="Resume after this event id.")
        ] = "0",
    ) -> EventStreamResponse:
        owned_job(request, job_id, principal)
        stream = follow_job(resources(request).url, job_id, int(last_event_id or "0"))
        return EventStreamResponse(stream, headers=SSE_HEADERS)

    def _decide(request: Request, job_id: str, principal: Principal, approved: bool) -> JobOut:
        """Approve or reject a waiting job; approving an interrupted job (the server stopped
        while it ran) continues it from its checkpoint, re-running the unfinished step."""
        res = resources(request)
        job = owned_job(request, job_id, principal)
        allowed = {"waiting_approval", "interrupted"} if approved else {"waiting_approval"}
        if not job_store.set_status(res.url, job.id, "running", only_from=allowed):
            raise ApiProblem(
                409,
                f"job {job.id} is {job.status}, not waiting for approval",
                code="JOB_STATE",
                hint="Jobs waiting_approval can be approved or rejected; interrupted jobs "
                "continue when approved.",
            )
        res.registry.submit(job.id, lambda: res.jobs.resume(job.id, approved))
        return job_out(job_store.get_job(res.url, job.id) or job)

    decision = {
        "status_code": 202,
        "response_model": JobOut,
        "responses": problem_responses(401, 403, 404, 409, 422, 429),
    }

    @router.post(
        "/{job_id}/approve", **decision,
        summary="Approve a waiting job, or continue an interrupted one",
    )  # fmt: skip
    @limiter.limit(writes)
    def approve_job(
        request: Request, response: Response, principal: Generator, job_id: JOB_ID
    ) -> JobOut:
        return _decide(request, job_id, principal, True)

    @router.post("/{job_id}/reject", **decision, summary="Reject a waiting job; it stops")
    @limiter.limit(writes)
    def reject_job(
        request: Request, response: Response, principal: Generator, job_id: JOB_ID
    ) -> JobOut:
        return _decide(request, job_id, principal, False)

    return router

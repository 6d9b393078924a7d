"""Workflow runs: start one from a saved workflow, list, inspect, follow (SSE), cancel, decide.

Runs execute in the background through the app's one `RunService`; the run history is what every
request reads, so any worker answers for any run. `Idempotency-Key` makes starting a run safe to
retry: the same key with the same request returns the run it created, with a different request
it is a 409 (keys are per user and kept for 24 hours).
"""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from slowapi import Limiter

from app.api.deps import Principal, owned_or_404, require_scope
from app.api.problems import ApiProblem, problem_responses
from app.api.routes.common import (
    MAX_PAGE,
    SSE_HEADERS,
    EventStreamResponse,
    Page,
    links,
    owner_filter,
    resources,
    sse_responses,
    strict_query,
)
from app.api.routes.run_events import follow_run
from app.api.routes.workflows import WORKFLOW_ID, service_call
from app.api.settings import ApiSettings
from app.db import history
from app.engine.inputs import InputError, prepare_inputs
from app.engine.results import RunStatus
from app.services import workflows as store
from app.services.run_tasks import is_cancelled
from app.workflow.spec import WorkflowSpec

RUN_ID = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Reader = Annotated[Principal, Depends(require_scope("read"))]
Runner = Annotated[Principal, Depends(require_scope("run"))]
START_TIMEOUT_S = 10.0
RUN_STATUSES = "^(" + "|".join(s.value for s in RunStatus) + ")$"


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inputs: dict[str, Any] = Field(default_factory=dict)
    dry_run: bool = Field(False, description="Simulate side-effecting steps.")
    version: int | None = Field(None, ge=1, description="Default: the latest version.")


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=2000)


class RunOut(history.RunRecord):
    cancelled: bool = False
    links: dict[str, str] = Field(default_factory=dict)


class RunSummaryOut(history.RunSummary):
    links: dict[str, str] = Field(default_factory=dict)


def _links(run_id: str) -> dict[str, str]:
    base = f"/runs/{run_id}"
    return links(
        self=base,
        events=f"{base}/events",
        cancel=f"{base}/cancel",
        approve=f"{base}/approve",
        reject=f"{base}/reject",
    )


def run_out(record: history.RunRecord) -> RunOut:
    return RunOut(**dict(record), cancelled=is_cancelled(record), links=_links(record.id))


def owned_run(request: Request, run_id: str, principal: Principal) -> history.RunRecord:
    record = history.get_run(run_id, url=resources(request).url)
    return owned_or_404(record, record.owner_id if record else None, principal, "run")


def _wait_recorded(url: str, run_id: str, future: Any) -> history.RunRecord | None:
    """Block until the background run has recorded itself (or failed before it could)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        record = history.get_run(run_id, url=url)
        if record is not None:
            return record
        if future is not None and future.done():
            future.result()  # re-raise what stopped it before it was recorded
            return history.get_run(run_id, url=url)
        time.sleep(0.02)
    return None


def build_runs_router(limiter: Limiter, settings: ApiSettings) -> APIRouter:
    router = APIRouter(tags=["runs"])
    reads, writes = settings.rate_limit_authenticated, settings.rate_limit_generation

    @router.post(
        "/workflows/{workflow_id}/runs",
        status_code=202,
        response_model=RunOut,
        responses={
            200: {"model": RunOut, "description": "Replay of an earlier Idempotency-Key."},
            **problem_responses(400, 401, 403, 404, 409, 413, 422, 429, 503),
        },
        summary="Run a saved workflow in the background",
    )
    @limiter.limit(writes)
    def start_run(
        request: Request,
        response: Response,
        principal: Runner,
        workflow_id: WORKFLOW_ID,
        body: RunCreate,
        idempotency_key: Annotated[
            str, Header(min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")
        ] = "",
    ) -> RunOut:
        res = resources(request)
        owner = owner_filter(principal)
        if body.version is None:
            spec_data = service_call(store.get, res.url, workflow_id, owner_id=owner).spec
        else:
            spec_data = service_call(
                store.get_version, res.url, workflow_id, body.version, owner_id=owner
            ).spec
        spec = WorkflowSpec.model_validate(spec_data)
        try:
            prepared = prepare_inputs(spec, body.inputs)
        except InputError as exc:
            raise ApiProblem(422, exc.message, code=exc.code, hint=exc.hint) from None
        run_id = uuid.uuid4().hex
        if idempotency_key:
            digest = store.request_hash(workflow_id, body.model_dump(mode="json"))
            run_id, replayed = service_call(
                store.claim_key, res.url, principal.user_id, idempotency_key, digest, run_id
            )
            if replayed:
                record = _wait_recorded(res.url, run_id, None)
                if record is None:
                    raise ApiProblem(
                        409,
                        "the request with this Idempotency-Key is still starting",
                        code="IDEMPOTENCY_IN_PROGRESS",
                        hint="Retry in a moment.",
                    )
                response.status_code = 200
                response.headers["Idempotent-Replayed"] = "true"
                response.headers["Location"] = f"/api/v1/runs/{run_id}"
                return run_out(record)
        future = res.registry.submit(
            run_id,
            lambda: res.runs.start(
                run_id, spec, prepared, dry_run=body.dry_run, owner_id=principal.user_id
            ),
        )
        try:
            record = _wait_recorded(res.url, run_id, future)
        except Exception:
            if idempotency_key:
                store.release_key(res.url, principal.user_id, idempotency_key)
            raise
        if record is None:
            raise ApiProblem(503, "the run did not start in time", hint="Retry later.")
        response.headers["Location"] = f"/api/v1/runs/{run_id}"
        return run_out(record)

    @router.get(
        "/runs",
        response_model=Page[RunSummaryOut],
        responses=problem_responses(401, 403, 422, 429),
        dependencies=[strict_query("status", "limit", "offset")],
    )
    @limiter.limit(reads)
    def list_runs(
        request: Request,
        response: Response,
        principal: Reader,
        status: Annotated[str, Query(pattern=RUN_STATUSES)] = "",
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> Page[RunSummaryOut]:
        url, owner = resources(request).url, owner_filter(principal)
        status_value = status or None
        items = history.list_runs(
            limit=limit, offset=offset, status=status_value, owner_id=owner, url=url
        )
        total = history.count_runs(status=status_value, owner_id=owner, url=url)
        outs = [RunSummaryOut(**dict(r), links=_links(r.id)) for r in items]
        return Page[RunSummaryOut](items=outs, total=total, limit=limit, offset=offset)

    @router.get(
        "/runs/{run_id}",
        response_model=RunOut,
        responses=problem_responses(401, 403, 404, 422, 429),
    )
    @limiter.limit(reads)
    def get_run(request: Request, response: Response, principal: Reader, run_id: RUN_ID) -> RunOut:
        return run_out(owned_run(request, run_id, principal))

    @router.get(
        "/runs/{run_id}/events",
        response_class=EventStreamResponse,
        responses={
            **sse_responses("`status` and one `step` event per step state, then `end`."),
            **problem_responses(401, 403, 404, 422, 429),
        },
        summary="Follow a run's steps as Server-Sent Events",
    )
    @limiter.limit(reads)
    def run_events(request: Request, principal: Reader, run_id: RUN_ID) -> EventStreamResponse:
        owned_run(request, run_id, principal)
        res = resources(request)
        return EventStreamResponse(follow_run(res.url, run_id, res.runs), headers=SSE_HEADERS)

    @router.post(
        "/runs/{run_id}/cancel",
        status_code=202,
        response_model=RunOut,
        responses=problem_responses(401, 403, 404, 409, 422, 429),
        summary="Cancel a running or waiting run",
    )
    @limiter.limit(writes)
    def cancel_run(
        request: Request, response: Response, principal: Runner, run_id: RUN_ID
    ) -> RunOut:
        record = owned_run(request, run_id, principal)
        if record.status in history.FINISHED_RUN:
            raise ApiProblem(
                409, f"run {run_id} already finished ({record.status.value})", code="RUN_STATE"
            )
        res = resources(request)
        if res.runs.cancel(run_id):
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and res.registry.is_local(run_id):
                time.sleep(0.02)
        return run_out(history.get_run(run_id, url=res.url) or record)

    def _decide(
        request: Request, run_id: str, principal: Principal, approved: bool, body: Decision | None
    ) -> RunOut:
        record = owned_run(request, run_id, principal)
        res = resources(request)
        if record.status is not RunStatus.WAITING_APPROVAL or res.registry.is_local(run_id):
            raise ApiProblem(
                409,
                f"run {run_id} is {record.status.value}, not waiting for approval",
                code="RUN_STATE",
                hint="Only runs with status waiting_approval can be approved or rejected.",
            )
        reason = body.reason if body else None
        res.registry.submit(
            run_id, lambda: res.runs.decide(run_id, approved=approved, reason=reason)
        )
        return run_out(record)

    decision: dict[str, Any] = {
        "status_code": 202,
        "response_model": RunOut,
        "responses": problem_responses(400, 401, 403, 404, 409, 413, 422, 429),
    }

    @router.post("/runs/{run_id}/approve", **decision, summary="Approve the step a run waits for")
    @limiter.limit(writes)
    def approve_run(
        request: Request,
        response: Response,
        principal: Runner,
        run_id: RUN_ID,
        body: Decision | None = None,
    ) -> RunOut:
        return _decide(request, run_id, principal, True, body)

    @router.post("/runs/{run_id}/reject", **decision, summary="Reject the step a run waits for")
    @limiter.limit(writes)
    def reject_run(
        request: Request,
        response: Response,
        principal: Runner,
        run_id: RUN_ID,
        body: Decision | None = None,
    ) -> RunOut:
        return _decide(request, run_id, principal, False, body)

    return router

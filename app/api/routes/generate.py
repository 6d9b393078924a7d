"""`POST /generate` (a background generation job) and `POST /plan` (a plan, synchronously).

Generation takes seconds to minutes, so it answers 202 with the job and runs as an asyncio task in
this server process; `?wait=true` holds the request until the job stops (for scripts and tests).
Planning alone is fast and deterministic, so `/plan` answers directly.
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from slowapi import Limiter

from agents.planner import PlanError, plan
from agents.planner.result import MAX_REQUEST_CHARS
from agents.service import RequestError, check_request
from app.api.deps import Principal, require_scope
from app.api.problems import ApiProblem, problem_responses
from app.api.routes.common import links, resources, strict_query
from app.api.settings import ApiSettings
from app.services import jobs as job_store
from app.workflow.diagnostics import Diagnostic, has_errors

WAIT_TIMEOUT_S = 600.0
Generator = Annotated[Principal, Depends(require_scope("generate"))]


class GenerateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    request: str = Field(
        min_length=1,
        max_length=MAX_REQUEST_CHARS,
        pattern=r"\S",
        description="What the workflow should do (not only whitespace).",
    )
    planner: Literal["rules", "llm"] = "rules"
    execute: bool = Field(False, description="Run the workflow for real (default: a dry run).")
    approve: bool = Field(False, description="Pause for approval before side-effecting steps.")
    inputs: dict[str, Any] = Field(default_factory=dict, description="Inputs for the run.")
    run_tests: bool = Field(True, description="Run the generated tests (slower).")


class JobOut(job_store.Job):
    links: dict[str, str] = Field(default_factory=dict)


def job_out(job: job_store.Job) -> JobOut:
    base = f"/jobs/{job.id}"
    return JobOut(
        **job.model_dump(),
        links=links(
            self=base,
            events=f"{base}/events",
            artifacts=f"{base}/artifacts",
            zip=f"{base}/artifacts.zip",
            approve=f"{base}/approve",
            reject=f"{base}/reject",
        ),
    )


class PlanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    request: str = Field(min_length=1, max_length=MAX_REQUEST_CHARS, pattern=r"\S")


class PlanOut(BaseModel):
    """A plan or why there is none: like /validate, an unplannable request is a result (200)."""

    ok: bool = Field(description="True when there is a spec without error diagnostics.")
    spec: dict[str, Any] | None = None
    diagnostics: list[Diagnostic]
    notes: list[str]
    error: PlanError | None = Field(None, description="Why nothing was planned; closest tools.")


def _check_generation(body: GenerateRequest) -> None:
    try:
        check_request(body.request)
    except RequestError as exc:
        raise ApiProblem(422, exc.message, code=exc.code, hint=exc.hint) from None
    # An unconfigured llm planner is not refused here: the job fails with NOT_CONFIGURED, the
    # same way as any other generation error, so the request schema stays the whole contract.


def build_generate_router(limiter: Limiter, settings: ApiSettings) -> APIRouter:
    router = APIRouter(tags=["generation"])
    tier = settings.rate_limit_generation

    @router.post(
        "/generate",
        status_code=202,
        response_model=JobOut,
        responses={
            200: {"model": JobOut, "description": "The finished job (`?wait=true`)."},
            **problem_responses(400, 401, 403, 413, 422, 429, 503),
        },
        summary="Start a generation job (202), or run it to the end with ?wait=true (200)",
        dependencies=[strict_query("wait")],
    )
    @limiter.limit(tier)
    def generate(
        request: Request,
        response: Response,
        principal: Generator,
        body: GenerateRequest,
        wait: Annotated[bool, Query(description="Wait for the job to stop.")] = False,
    ) -> JobOut:
        _check_generation(body)
        res = resources(request)
        options = job_store.JobOptions(**body.model_dump(exclude={"request"}))
        job = job_store.create_job(
            res.url, owner_id=principal.user_id, request=body.request.strip(), options=options
        )
        future = res.registry.submit(job.id, lambda: res.jobs.generate(job))
        response.headers["Location"] = f"/api/v1/jobs/{job.id}"
        if wait:
            with contextlib.suppress(Exception):  # the job row records how it ended
                future.result(timeout=WAIT_TIMEOUT_S)
        job = job_store.get_job(res.url, job.id) or job
        if wait and job.status not in job_store.ACTIVE:
            response.status_code = 200
        return job_out(job)

    @router.post(
        "/plan",
        response_model=PlanOut,
        responses=problem_responses(400, 401, 403, 413, 422, 429),
        summary="Plan a request into a workflow spec (rules planner), without generating",
    )
    @limiter.limit(tier)
    def plan_request(
        request: Request, response: Response, principal: Generator, body: PlanRequest
    ) -> PlanOut:
        result = plan(body.request, request.app.state.catalog())
        return PlanOut(
            ok=result.spec is not None and not has_errors(result.diagnostics),
            spec=result.spec.to_data() if result.spec is not None else None,
            diagnostics=result.diagnostics,
            notes=result.notes,
            error=result.error,
        )

    return router

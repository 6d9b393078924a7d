"""Saved workflows: create, search, read, update (a new immutable version), delete.

The latest version number is the ETag: `PUT` with `If-Match: "<version>"` only succeeds if nobody
wrote a newer version since the client read it (412 otherwise), so two editors cannot silently
overwrite each other. Specs are validated before anything is stored; an invalid one is a 422
problem carrying the validator's diagnostics.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from slowapi import Limiter

from app.api.deps import Principal, require_scope
from app.api.problems import ApiProblem, problem_responses
from app.api.routes.common import (
    MAX_PAGE,
    Page,
    db_url,
    links,
    owner_filter,
    problem_with,
    strict_query,
)
from app.api.settings import ApiSettings
from app.services import workflows as store
from app.workflow.spec import WorkflowSpec
from app.workflow.validator import validate_text

WORKFLOW_ID = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="Workflow id.")]
Tag = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,39}$")]
Name = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^\S(.*\S)?$")]
Reader = Annotated[Principal, Depends(require_scope("read"))]
Writer = Annotated[Principal, Depends(require_scope("generate"))]
SpecField = Field(description="The spec: YAML/JSON text, or a JSON object.")


class WorkflowCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    description: str | None = Field(None, max_length=2000)
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    spec: str | dict[str, Any] = SpecField


class WorkflowUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    spec: str | dict[str, Any] = SpecField
    name: Name | None = None
    description: str | None = Field(None, max_length=2000)
    tags: list[Tag] | None = Field(None, max_length=20)


class WorkflowOut(store.Workflow):
    links: dict[str, str] = Field(default_factory=dict)


class VersionSummary(BaseModel):
    workflow_id: str
    version: int
    spec_hash: str
    created_by: str | None = None
    created_at: datetime


def _links(workflow_id: str) -> dict[str, str]:
    base = f"/workflows/{workflow_id}"
    return links(self=base, versions=f"{base}/versions", runs=f"{base}/runs")


def _out(workflow: store.Workflow, response: Response) -> WorkflowOut:
    response.headers["ETag"] = f'"{workflow.version}"'
    return WorkflowOut(**workflow.model_dump(), links=_links(workflow.id))


def _unique(tags: list[str] | None) -> list[str] | None:
    return list(dict.fromkeys(tags)) if tags is not None else None


def validated_spec(request: Request, spec: str | dict[str, Any]) -> WorkflowSpec | Any:
    """The spec, or a 422 problem response carrying every diagnostic."""
    text, fmt = (json.dumps(spec), "json") if isinstance(spec, dict) else (spec, None)
    report = validate_text(text, request.app.state.catalog(), fmt=fmt, source="spec")
    if report.spec is None or not report.ok:
        errors = [d for d in report.diagnostics if d.is_error]
        first = errors[0].message if errors else "the spec is invalid"
        return problem_with(
            request,
            422,
            detail=f"the spec is invalid: {first}",
            code="SPEC_INVALID",
            hint="Fix the problems listed in `diagnostics` (POST /api/v1/validate checks a spec).",
            diagnostics=[d.model_dump(mode="json") for d in report.diagnostics],
        )
    return report.spec


def parse_if_match(value: str | None) -> int | None:
    """The version an `If-Match` names (None for absent or `*`); 412 when it names none."""
    if not value or value.strip() == "*":
        return None
    first = value.split(",")[0].strip().removeprefix("W/").strip('"')
    try:
        return int(first)
    except ValueError:
        raise ApiProblem(
            412,
            f"If-Match {value!r} is not a workflow version",
            code="VERSION_MISMATCH",
            hint='Send the ETag from GET /api/v1/workflows/{id}, e.g. If-Match: "3".',
        ) from None


def service_call(call: Any, *args: Any, **kwargs: Any) -> Any:
    """Map the workflow service's errors to problems."""
    try:
        return call(*args, **kwargs)
    except store.WorkflowNotFound as exc:
        raise ApiProblem(404, exc.message, code="NOT_FOUND") from None
    except store.VersionMismatch as exc:
        raise ApiProblem(412, exc.message, code="VERSION_MISMATCH", hint=exc.hint) from None
    except store.WorkflowConflict as exc:
        raise ApiProblem(409, exc.message, code=exc.code, hint=exc.hint) from None


def build_workflows_router(limiter: Limiter, settings: ApiSettings) -> APIRouter:
    router = APIRouter(prefix="/workflows", tags=["workflows"])
    tier = settings.rate_limit_authenticated

    @router.post(
        "",
        status_code=201,
        response_model=WorkflowOut,
        responses=problem_responses(400, 401, 403, 409, 413, 422, 429),
        summary="Save a workflow (version 1)",
    )
    @limiter.limit(tier)
    def create_workflow(
        request: Request, response: Response, principal: Writer, body: WorkflowCreate
    ) -> Any:
        spec = validated_spec(request, body.spec)
        if not isinstance(spec, WorkflowSpec):
            return spec
        workflow = service_call(
            store.create,
            db_url(request),
            owner_id=principal.user_id,
            name=body.name,
            description=body.description,
            tags=_unique(body.tags) or [],
            spec=spec,
        )
        response.headers["Location"] = f"/api/v1/workflows/{workflow.id}"
        return _out(workflow, response)

    @router.get(
        "",
        response_model=Page[store.WorkflowSummary],
        responses=problem_responses(401, 403, 422, 429),
        summary="Search workflows by name/description and tag",
        dependencies=[strict_query("q", "tag", "limit", "offset")],
    )
    @limiter.limit(tier)
    def list_workflows(
        request: Request,
        response: Response,
        principal: Reader,
        q: Annotated[str, Query(max_length=200)] = "",
        tag: Annotated[str, Query(max_length=40)] = "",
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> Page[store.WorkflowSummary]:
        items, total = store.search(
            db_url(request),
            owner_id=owner_filter(principal),
            q=q,
            tag=tag,
            limit=limit,
            offset=offset,
        )
        return Page[store.WorkflowSummary](items=items, total=total, limit=limit, offset=offset)

    @router.get(
        "/{workflow_id}",
        response_model=WorkflowOut,
        responses=problem_responses(401, 403, 404, 422, 429),
    )
    @limiter.limit(tier)
    def get_workflow(
        request: Request, response: Response, principal: Reader, workflow_id: WORKFLOW_ID
    ) -> WorkflowOut:
        workflow = service_call(
            store.get, db_url(request), workflow_id, owner_id=owner_filter(principal)
        )
        return _out(workflow, response)

    @router.put(
        "/{workflow_id}",
        response_model=WorkflowOut,
        responses=problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 429),
        summary="Write a new immutable version (If-Match: the version you read)",
    )
    @limiter.limit(tier)
    def update_workflow(
        request: Request,
        response: Response,
        principal: Writer,
        workflow_id: WORKFLOW_ID,
        body: WorkflowUpdate,
        if_match: Annotated[str, Header(max_length=200)] = "",
    ) -> Any:
        expected = parse_if_match(if_match)
        url = db_url(request)
        service_call(store.get, url, workflow_id, owner_id=owner_filter(principal))  # 404 first
        spec = validated_spec(request, body.spec)
        if not isinstance(spec, WorkflowSpec):
            return spec
        workflow = service_call(
            store.update,
            url,
            workflow_id,
            owner_id=owner_filter(principal),
            actor_id=principal.user_id,
            spec=spec,
            expected_version=expected,
            name=body.name,
            description=body.description,
            tags=_unique(body.tags),
        )
        return _out(workflow, response)

    @router.delete(
        "/{workflow_id}",
        status_code=204,
        response_class=Response,
        responses=problem_responses(401, 403, 404, 422, 429),
        summary="Delete a workflow and all its versions (its runs stay in history)",
    )
    @limiter.limit(tier)
    def delete_workflow(
        request: Request, response: Response, principal: Writer, workflow_id: WORKFLOW_ID
    ) -> Response:
        service_call(store.remove, db_url(request), workflow_id, owner_id=owner_filter(principal))
        return Response(status_code=204)

    @router.get(
        "/{workflow_id}/versions",
        response_model=Page[VersionSummary],
        responses=problem_responses(401, 403, 404, 422, 429),
        summary="List a workflow's versions, newest first",
        dependencies=[strict_query("limit", "offset")],
    )
    @limiter.limit(tier)
    def list_versions(
        request: Request,
        response: Response,
        principal: Reader,
        workflow_id: WORKFLOW_ID,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> Page[VersionSummary]:
        items, total = service_call(
            store.list_versions,
            db_url(request),
            workflow_id,
            owner_id=owner_filter(principal),
            limit=limit,
            offset=offset,
        )
        summaries = [VersionSummary(**v.model_dump(exclude={"spec"})) for v in items]
        return Page[VersionSummary](items=summaries, total=total, limit=limit, offset=offset)

    @router.get(
        "/{workflow_id}/versions/{version}",
        response_model=store.WorkflowVersion,
        responses=problem_responses(401, 403, 404, 422, 429),
    )
    @limiter.limit(tier)
    def get_version(
        request: Request,
        response: Response,
        principal: Reader,
        workflow_id: WORKFLOW_ID,
        version: Annotated[int, Path(ge=1, le=1_000_000)],
    ) -> store.WorkflowVersion:
        return service_call(
            store.get_version,
            db_url(request),
            workflow_id,
            version,
            owner_id=owner_filter(principal),
        )

    return router

"""What the resource routes share: per-app background state, paging, problems with extra members,
and Server-Sent Events framing.

SSE is written by hand (sse-starlette is not a dependency): `event:`/`id:`/`data:` lines, a blank
line per event, and `: keep-alive` comments so proxies do not close an idle stream.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from app.api.deps import Principal
from app.api.problems import PROBLEM_JSON, ApiProblem, problem_response
from app.services.jobs import JobRunner
from app.services.run_tasks import RunTasks
from app.services.tasks import TaskRegistry

T = TypeVar("T")
MAX_PAGE = 200
POLL_S = 0.2
KEEPALIVE_S = 15.0
MAX_STREAM_S = 3600.0
SSE_MEDIA = "text/event-stream"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@dataclass
class Resources:
    """Per-app background machinery, created in the resources router's lifespan."""

    url: str
    home: Path
    registry: TaskRegistry
    runs: RunTasks
    jobs: JobRunner


class Page(BaseModel, Generic[T]):
    """One page of a list, newest first."""

    items: list[T]
    total: int = Field(description="How many items match, over all pages.")
    limit: int
    offset: int


class EventStreamResponse(StreamingResponse):
    """A `text/event-stream` response (documented as such in OpenAPI)."""

    media_type = SSE_MEDIA


def resources(request: Request) -> Resources:
    state = getattr(request.app.state, "resources", None)
    if state is None:  # only when the lifespan did not run (a misconfigured test client)
        raise ApiProblem(503, "the API's background workers are not running")
    return state


def db_url(request: Request) -> str:
    return request.app.state.settings.resolved_database_url


def owner_filter(principal: Principal) -> str | None:
    """The owner id to filter by: None (everyone's) for admins, the caller otherwise."""
    return None if principal.is_admin else principal.user_id


def not_found(what: str) -> ApiProblem:
    return ApiProblem(404, f"{what} not found", code="NOT_FOUND")


def problem_with(
    request: Request,
    status: int,
    *,
    detail: str,
    code: str,
    hint: str | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem document with extension members (e.g. `diagnostics`, `closest_tools`)."""
    base = problem_response(request, status, detail=detail, code=code, hint=hint)
    body = json.loads(bytes(base.body)) | json.loads(json.dumps(extra, default=str))
    headers = {k: v for k, v in base.headers.items() if k.lower() == "x-request-id"}
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def sse(event: str, data: Any, event_id: int | str | None = None) -> str:
    """One SSE frame; `data` as compact JSON on one line (JSON never contains raw newlines)."""
    lines = [f"event: {event}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append("data: " + json.dumps(data, separators=(",", ":"), default=str))
    return "\n".join(lines) + "\n\n"


KEEPALIVE = ": keep-alive\n\n"


def sse_responses(description: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": description,
            "content": {SSE_MEDIA: {"schema": {"type": "string"}}},
        }
    }


def links(**paths: str) -> dict[str, str]:
    return {name: f"/api/v1{path}" for name, path in paths.items()}


def strict_query(*allowed: str) -> Any:
    """A dependency refusing unknown or repeated query parameters (422): a misspelt filter such
    as `?stauts=failed` must not silently return everything, and `?status=a&status=b` must not
    silently mean `b` (every query parameter of this API is a single value)."""
    names = frozenset(allowed)

    def check(request: Request) -> None:
        params = request.query_params
        errors = [
            {"type": "extra_forbidden", "loc": ("query", name), "msg": "unknown parameter"}
            for name in sorted(set(params) - names)
        ] + [
            {"type": "too_long", "loc": ("query", name), "msg": "parameter given more than once"}
            for name in sorted(set(params) & names)
            if len(params.getlist(name)) > 1
        ]
        if errors:
            raise RequestValidationError(errors)

    return Depends(check)

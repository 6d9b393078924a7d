"""RFC 9457 problem details for every error the API returns.

Each problem has `type`, `title`, `status`, `detail`, `instance` plus the extension members
`code` (stable, machine-readable) and `hint` (what to do). Unexpected exceptions become a generic
500 carrying only the request id: their text and traceback go to the server log, never to the
client.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("flowwright.api")

_DEFAULT_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_FAILED",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
}


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem document (served as application/problem+json)."""

    type: str = Field(description="URI identifying the problem type.")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    code: str = Field(description="Stable machine-readable error code.")
    hint: str | None = Field(None, description="What the client can do about it.")
    request_id: str | None = None
    errors: list[FieldError] | None = Field(None, description="Field errors (422 only).")


class ApiProblem(Exception):
    """Raise anywhere in a request to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        code: str | None = None,
        hint: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code or _DEFAULT_CODES.get(status, "ERROR")
        self.hint = hint
        self.headers = headers


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def problem_response(
    request: Request,
    status: int,
    *,
    detail: str | None = None,
    code: str | None = None,
    hint: str | None = None,
    headers: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    code = code or _DEFAULT_CODES.get(status, "ERROR")
    body: dict[str, Any] = {
        "type": f"urn:flowwright:problem:{code.lower().replace('_', '-')}",
        "title": HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error",
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "code": code,
        "hint": hint,
        "request_id": _request_id(request),
    }
    if errors is not None:
        body["errors"] = errors
    all_headers = dict(headers or {})
    if body["request_id"]:
        all_headers["X-Request-ID"] = body["request_id"]
    return JSONResponse(body, status_code=status, headers=all_headers, media_type=PROBLEM_JSON)


async def _api_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)
    return problem_response(
        request, exc.status, detail=exc.detail, code=exc.code, hint=exc.hint, headers=exc.headers
    )


async def _http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(status).phrase
    hint = None
    if status == 404:
        hint = "See /docs for the API's routes."
    elif status == 405:
        hint = f"Allowed: {(exc.headers or {}).get('Allow', 'see /docs')}."
    return problem_response(request, status, detail=detail, hint=hint, headers=exc.headers)


def _jsonable_loc(loc: Any) -> list[str | int]:
    return [p if isinstance(p, int) else str(p) for p in loc]


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": _jsonable_loc(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e["type"]}
        for e in exc.errors()
    ]
    first = errors[0] if errors else None
    where = ".".join(str(p) for p in first["loc"]) if first else "request"
    return problem_response(
        request,
        422,
        detail=f"{where}: {first['msg']}" if first else "invalid request",
        hint="Fix the fields listed in `errors` (see /docs for the schema).",
        errors=errors,
    )


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.error(
        "unhandled error (request %s) %s %s",
        _request_id(request),
        request.method,
        request.url.path,
        exc_info=exc,
    )
    return problem_response(
        request,
        500,
        detail="The server hit an unexpected error.",
        hint="Retry later; report the request_id if it persists.",
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiProblem, _api_problem)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _internal_error)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries documenting problem documents for `statuses`."""
    return {
        status: {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }

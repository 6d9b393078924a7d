"""`POST /validate`: spec text (YAML/JSON body) or a JSON envelope in, diagnostics out.

Both an invalid and a valid spec are a 200: the diagnostics *are* the result. 4xx is kept for
requests the endpoint cannot read (415 unknown media type, 422 malformed envelope, 413 too big).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

from app.api.deps import Principal, require_scope
from app.api.problems import ApiProblem, problem_responses
from app.api.settings import ApiSettings
from app.workflow.diagnostics import Diagnostic
from app.workflow.validator import validate_text

TEXT_TYPES = {
    "application/yaml",
    "application/x-yaml",
    "text/yaml",
    "text/x-yaml",
    "text/plain",
    "",
}


class ValidateRequest(BaseModel):
    spec: str | dict[str, Any] = Field(description="Spec text, or the spec as a JSON object.")
    format: Literal["yaml", "json"] | None = Field(None, description="Default: detected.")
    source: str | None = Field(None, max_length=200, description="Name used in diagnostics.")


class ValidateResponse(BaseModel):
    ok: bool = Field(description="True when no diagnostic has error severity.")
    source: str | None
    errors: int
    warnings: int
    diagnostics: list[Diagnostic]


_REQUEST_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": ValidateRequest.model_json_schema()},
        "application/yaml": {"schema": {"type": "string"}},
        "text/plain": {"schema": {"type": "string"}},
    },
}


async def _read(request: Request) -> tuple[str | bytes, Literal["yaml", "json"] | None, str]:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if media in TEXT_TYPES:
        return raw, None, "request"
    if media != "application/json" and not media.endswith("+json"):
        raise ApiProblem(
            415,
            f"cannot validate a {media} body",
            hint="Send application/json ({spec, format?}) or the spec as application/yaml.",
        )
    try:
        envelope = ValidateRequest.model_validate(json.loads(raw))
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors too
        if isinstance(exc, ValidationError):
            errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
            raise RequestValidationError(errors) from None
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body",), "msg": "body is not valid JSON"}]
        ) from None
    if isinstance(envelope.spec, dict):
        return json.dumps(envelope.spec), "json", envelope.source or "request"
    return envelope.spec, envelope.format, envelope.source or "request"


def build_validate_router(limiter: Any, settings: ApiSettings) -> APIRouter:
    router = APIRouter(tags=["workflows"])

    @router.post(
        "/validate",
        response_model=ValidateResponse,
        responses=problem_responses(400, 401, 403, 413, 415, 422, 429),
        openapi_extra={"requestBody": _REQUEST_BODY},
        summary="Validate a workflow spec and return its diagnostics",
    )
    @limiter.limit(settings.rate_limit_validation)
    def validate(
        request: Request,
        response: Response,
        principal: Annotated[Principal, Depends(require_scope("read"))],
        body: Annotated[tuple[str | bytes, str | None, str], Depends(_read)],
    ) -> ValidateResponse:
        # A sync endpoint on purpose: FastAPI runs it in the threadpool, so slowapi's blocking
        # storage calls (Redis round trips) and the CPU-bound validation stay off the event loop.
        text, fmt, source = body
        catalog = request.app.state.catalog()
        report = validate_text(text, catalog, fmt=fmt, source=source)  # type: ignore[arg-type]
        return ValidateResponse(
            ok=report.ok,
            source=report.source,
            errors=sum(1 for d in report.diagnostics if d.severity == "error"),
            warnings=sum(1 for d in report.diagnostics if d.severity == "warning"),
            diagnostics=report.diagnostics,
        )

    return router

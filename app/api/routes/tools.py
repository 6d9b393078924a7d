"""`GET /tools` and `GET /tools/{name}`: the built-in catalog, read scope."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel
from slowapi import Limiter

from app.api.deps import Principal, require_scope
from app.api.problems import ApiProblem, problem_responses
from app.api.settings import ApiSettings
from app.tools.base import ToolInfo
from app.tools.registry import Catalog


class ToolSummary(BaseModel):
    name: str
    description: str
    category: str
    side_effect: str
    requires: list[str]
    planning_only: bool


class ToolDetail(ToolSummary):
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    example: dict[str, Any]


def _summary(info: ToolInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "description": info.description,
        "category": info.category,
        "side_effect": str(info.side_effect),
        "requires": [str(r) for r in info.requires],
        "planning_only": info.planning_only,
    }


def catalog_of(request: Request) -> Catalog:
    return request.app.state.catalog()


Reader = Annotated[Principal, Depends(require_scope("read"))]


def build_tools_router(limiter: Limiter, settings: ApiSettings) -> APIRouter:
    router = APIRouter(prefix="/tools", tags=["tools"])
    tier = settings.rate_limit_authenticated

    @router.get("", response_model=list[ToolSummary], responses=problem_responses(401, 403, 429))
    @limiter.limit(tier)
    def list_tools(request: Request, response: Response, principal: Reader) -> list[ToolSummary]:
        return [ToolSummary(**_summary(info)) for info in catalog_of(request).infos()]

    @router.get(
        "/{name}", response_model=ToolDetail, responses=problem_responses(401, 403, 404, 422, 429)
    )
    @limiter.limit(tier)
    def get_tool(
        request: Request,
        response: Response,
        principal: Reader,
        name: Annotated[str, Path(max_length=200)],
    ) -> ToolDetail:
        catalog = catalog_of(request)
        if name not in catalog:
            close = catalog.suggest(name)
            hint = f"Did you mean {', '.join(close)}?" if close else "GET /api/v1/tools lists all."
            raise ApiProblem(404, f"unknown tool {name!r}", code="TOOL_UNKNOWN", hint=hint)
        info = catalog.info(name)
        return ToolDetail(
            **_summary(info),
            input_schema=info.input_schema,
            output_schema=info.output_schema,
            example=info.example,
        )

    return router

"""What `plan()` returns and the checks a request passes before planning (size, injection)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.errors import FlowwrightError
from app.workflow.diagnostics import Diagnostic
from app.workflow.spec import WorkflowSpec

MAX_REQUEST_CHARS = 4000
_INJECTION = re.compile(
    r"\b(ignore|disregard|forget)\b.{0,30}\b(previous|prior|above|earlier|all)\b.{0,20}"
    r"\b(instructions?|prompts?|rules?)\b|\bsystem prompt\b|\byou are now\b|\bjailbreak\b",
    re.I | re.S,
)


class PlanError(BaseModel):
    code: str
    message: str
    hint: str | None = None
    closest_tools: list[str] = Field(default_factory=list)


class PlanResult(BaseModel):
    """A plan (`spec`) or an `error` saying why there is none; `notes` explain choices."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    spec: WorkflowSpec | None = None
    diagnostics: list[Diagnostic] = Field(default_factory=list)
    error: PlanError | None = None
    notes: list[str] = Field(default_factory=list)


class PlanningError(FlowwrightError):
    """The request cannot be planned; `closest_tools` lists what came nearest."""

    code = "PLANNING_FAILED"

    def __init__(self, message: str, *, code: str, hint: str, closest: list[str] | None = None):
        super().__init__(message, hint=hint, code=code)
        self.closest_tools = closest or []

    def as_error(self) -> PlanError:
        return PlanError(
            code=self.code, message=self.message, hint=self.hint, closest_tools=self.closest_tools
        )


def check_present_and_short(request: Any, error: type[FlowwrightError] = FlowwrightError) -> str:
    """The checks every planner front door shares: text, not empty, within MAX_REQUEST_CHARS.

    `error` is the caller's exception class (the service raises RequestError, planners
    PlanningError), so each caller keeps its own contract.
    """
    if not isinstance(request, str) or not request.strip():
        raise error(
            "the request is empty",
            code="EMPTY_REQUEST",
            hint='Describe the workflow, e.g. "Validate ada@example.com and save it to leads.csv".',
        )
    if len(request) > MAX_REQUEST_CHARS:
        raise error(
            f"the request is {len(request):,} characters long (limit {MAX_REQUEST_CHARS:,})",
            code="REQUEST_TOO_LONG",
            hint="Describe the steps in a few sentences; put data in files or workflow inputs.",
        )
    return request


def guard(request: Any) -> str:
    request = check_present_and_short(request, PlanningError)
    if _INJECTION.search(request):
        raise PlanningError(
            "the request contains instructions aimed at the planner itself",
            code="PROMPT_INJECTION",
            hint="Describe only the workflow steps you want; the planner follows no other orders.",
        )
    if len(re.findall(r"[A-Za-z]{2,}", request)) == 0:
        raise PlanningError(
            "the request has no words to plan from",
            code="NO_WORDS",
            hint="Write the request in plain English.",
        )
    return request.strip()

"""Workflow spec v1 (DESIGN §2) as Pydantic models, with JSON/YAML dumping and the JSON Schema.

Loading text (with size, depth and YAML-safety limits and line-aware errors) lives in `loader`.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

SPEC_VERSION = "1"
SCHEMA_ID = "https://flowwright.dev/schema/workflow-v1.json"

Identifier = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", min_length=1, max_length=64)
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    ARRAY = "array"
    OBJECT = "object"
    ANY = "any"


class InputSpec(_Strict):
    """A workflow input; `required` inputs without a `default` must be given at run time."""

    type: InputType = InputType.STRING
    required: bool = True
    default: Any = None
    description: str | None = None
    example: Any = None


class RetryPolicy(_Strict):
    """Retry transient errors with exponential backoff (and jitter) between attempts."""

    max_attempts: int = Field(3, ge=1, le=20)
    backoff_s: float = Field(0.5, ge=0, le=600)
    max_backoff_s: float = Field(30.0, ge=0, le=3600)
    jitter: bool = True


class StepSpec(_Strict):
    """One tool call. Expressions (`{{ ... }}`) may appear in `params`, `when` and `for_each`."""

    id: Identifier
    tool: str = Field(min_length=1, max_length=200)
    description: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    when: str | bool | None = None
    for_each: str | list[Any] | None = None
    concurrency: int | None = Field(
        None, ge=1, le=64, description="Most items of `for_each` running at once."
    )
    depends_on: list[Identifier] = Field(default_factory=list)
    retry: RetryPolicy | None = None
    timeout_s: float | None = Field(None, gt=0, le=86_400)
    on_error: Literal["fail", "continue"] = "fail"
    approval: bool = False


class WorkflowSpec(_Strict):
    """A workflow: inputs, steps, and outputs evaluated when the steps are done."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"$id": SCHEMA_ID, "title": "Flowwright workflow v1"}
    )

    flowwright: Literal["1"] = Field(description="Spec version.")
    name: str = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\- ]*$")
    description: str | None = None
    inputs: dict[Identifier, InputSpec] = Field(default_factory=dict)
    steps: list[StepSpec] = Field(min_length=1, max_length=500)
    outputs: dict[str, Any] = Field(default_factory=dict)

    def step(self, step_id: str) -> StepSpec | None:
        return next((s for s in self.steps if s.id == step_id), None)

    def to_data(self) -> dict[str, Any]:
        """The canonical plain-data form: defaults omitted, key order as declared."""
        return self.model_dump(mode="json", exclude_defaults=True, exclude_none=False) | {
            "flowwright": SPEC_VERSION
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(_ordered(self.to_data()), indent=indent, ensure_ascii=False)

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(
            _ordered(self.to_data()), sort_keys=False, allow_unicode=True, width=100
        )


_TOP_ORDER = ("flowwright", "name", "description", "inputs", "steps", "outputs")


def _ordered(data: dict[str, Any]) -> dict[str, Any]:
    return {k: data[k] for k in _TOP_ORDER if k in data}


def json_schema() -> dict[str, Any]:
    """The exported JSON Schema of spec v1 (`flowwright spec schema`)."""
    schema = WorkflowSpec.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}

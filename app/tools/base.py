"""How a Flowwright tool is declared: a typed function becomes a LangChain `StructuredTool`.

The tool's Flowwright facts (category, side-effect class, output schema, what it requires, an
example call) travel in `tool.metadata["flowwright"]`, so any LangChain tool that carries them is a
Flowwright tool, and `tool_info` reads them back.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, get_type_hints

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import TypeAdapter

META_KEY = "flowwright"


class SideEffect(StrEnum):
    """What a call touches; dry runs execute `pure` and `reads` and simulate the rest."""

    PURE = "pure"
    READS = "reads"
    NETWORK = "network"
    WRITES = "writes"


class Requirement(StrEnum):
    """Operator configuration a tool cannot run without."""

    LLM = "llm"
    SMTP = "smtp"
    DATABASE = "database"


@dataclass(frozen=True)
class ToolInfo:
    """The Flowwright facts about a tool, beside LangChain's name, description and args schema."""

    name: str
    description: str
    category: str
    side_effect: SideEffect
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    requires: tuple[Requirement, ...] = ()
    example: dict[str, Any] = field(default_factory=dict)
    planning_only: bool = False

    @property
    def params(self) -> dict[str, dict[str, Any]]:
        return self.input_schema.get("properties", {})

    @property
    def required_params(self) -> list[str]:
        return list(self.input_schema.get("required", []))


def flow_tool(
    *,
    category: str,
    side_effect: SideEffect,
    requires: tuple[Requirement, ...] = (),
    example: dict[str, Any] | None = None,
    name: str | None = None,
) -> Callable[[Callable[..., Any]], StructuredTool]:
    """Turn a typed function into a Flowwright `StructuredTool`.

    Parameters become the input schema (use `Annotated[T, Field(description=...)]`), the return
    annotation becomes the output schema, and the docstring's first paragraph the description.
    """

    def decorate(func: Callable[..., Any]) -> StructuredTool:
        hints = get_type_hints(func, include_extras=True)
        output_schema = TypeAdapter(hints.get("return", Any)).json_schema()
        description = inspect.cleandoc(func.__doc__ or "").split("\n\n")[0].replace("\n", " ")
        meta = {
            "category": category,
            "side_effect": side_effect.value,
            "output_schema": output_schema,
            "requires": [r.value for r in requires],
            "example": example or {},
        }
        is_async = inspect.iscoroutinefunction(func)
        with warnings.catch_warnings():  # parameters named `json` shadow a BaseModel attribute
            warnings.filterwarnings("ignore", message=".*shadows an attribute.*")
            return StructuredTool.from_function(
                None if is_async else func,
                coroutine=func if is_async else None,
                name=name or func.__name__,
                description=description,
                metadata={META_KEY: meta},
            )

    return decorate


def tool_info(tool: BaseTool) -> ToolInfo:
    """Read a tool's Flowwright facts; tools without them count as `network` side effects."""
    meta = (tool.metadata or {}).get(META_KEY, {})
    return ToolInfo(
        name=tool.name,
        description=tool.description,
        category=meta.get("category", "custom"),
        side_effect=SideEffect(meta.get("side_effect", SideEffect.NETWORK)),
        input_schema=_input_schema(tool),
        output_schema=meta.get("output_schema", {}),
        requires=tuple(Requirement(r) for r in meta.get("requires", ())),
        example=meta.get("example", {}),
        planning_only=bool(meta.get("planning_only", False)),
    )


def _input_schema(tool: BaseTool) -> dict[str, Any]:
    schema = tool.args_schema
    if schema is None:
        return {"type": "object", "properties": {}}
    if isinstance(schema, dict):
        return schema
    return schema.model_json_schema()

"""The catalog of tools a workflow may use: built-in, user modules, entry points, TaskBench files.

Built-in tool modules are imported on first use of `Catalog.builtin()`, never at CLI start-up.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import json
import sys
from collections.abc import Iterable, Iterator
from functools import lru_cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool

from app.errors import FlowwrightError
from app.tools.base import META_KEY, ToolInfo, tool_info

BUILTIN_MODULES = (
    "app.tools.text",
    "app.tools.template",
    "app.tools.files",
    "app.tools.rows",
    "app.tools.checks",
    "app.tools.web",
    "app.tools.messaging",
    "app.tools.sql",
    "app.tools.llm",
)
ENTRY_POINT_GROUP = "flowwright.tools"


class CatalogError(FlowwrightError):
    code = "CATALOG_ERROR"


class Catalog:
    """An immutable, name-indexed set of tools with their `ToolInfo`."""

    def __init__(self, tools: Iterable[BaseTool]):
        self._tools: dict[str, BaseTool] = {}
        for tool in tools:
            if tool.name in self._tools:
                raise CatalogError(
                    f"two tools are named {tool.name!r}", hint="Rename one of the user tools."
                )
            self._tools[tool.name] = tool
        self._info: dict[str, ToolInfo] = {}

    @classmethod
    def builtin(cls) -> Catalog:
        """The built-in catalog of DESIGN §3 (imported once per process)."""
        return _builtin_catalog()

    def extended(self, tools: Iterable[BaseTool]) -> Catalog:
        """A new catalog with `tools` added; a name already present is an error."""
        return Catalog([*self._tools.values(), *tools])

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[BaseTool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def names(self) -> list[str]:
        return list(self._tools)

    def get(self, name: str) -> BaseTool:
        try:
            return self._tools[name]
        except KeyError:
            close = self.suggest(name)
            hint = f"Did you mean {', '.join(close)}?" if close else "Run `flowwright tools list`."
            raise CatalogError(f"unknown tool {name!r}", hint=hint, code="TOOL_UNKNOWN") from None

    def info(self, name: str) -> ToolInfo:
        if name not in self._info:
            self._info[name] = tool_info(self.get(name))
        return self._info[name]

    def infos(self) -> list[ToolInfo]:
        return [self.info(name) for name in self._tools]

    def suggest(self, name: str, n: int = 3) -> list[str]:
        """The closest tool names to a misspelt one."""
        return difflib.get_close_matches(name, self._tools, n=n, cutoff=0.5)


@lru_cache(maxsize=1)
def _builtin_catalog() -> Catalog:
    tools: list[BaseTool] = []
    for module_name in BUILTIN_MODULES:
        tools.extend(_module_tools(importlib.import_module(module_name)))
    return Catalog(tools)


def _module_tools(module: Any) -> list[BaseTool]:
    """A module's tools: its `TOOLS` list if it has one, else every module-level `BaseTool`."""
    declared = getattr(module, "TOOLS", None)
    if declared is not None:
        return list(declared)
    return [value for value in vars(module).values() if isinstance(value, BaseTool)]


def tools_from_module(spec: str) -> list[BaseTool]:
    """Tools from a dotted module name (`mypkg.tools`) or a Python file path (`./tools.py`)."""
    try:
        if spec.endswith(".py") or "/" in spec:
            path = Path(spec).resolve()
            if not path.is_file():
                raise CatalogError(f"tool module {spec!r} not found", hint="Check the path.")
            module_name = f"flowwright_user_tools_{abs(hash(str(path)))}"
            loader_spec = importlib.util.spec_from_file_location(module_name, path)
            if loader_spec is None or loader_spec.loader is None:
                raise CatalogError(f"cannot import {spec!r}", hint="Give a .py file.")
            module = importlib.util.module_from_spec(loader_spec)
            sys.modules[module_name] = module
            loader_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(spec)
    except CatalogError:
        raise
    except Exception as exc:  # user code: any import failure is reported, not raised raw
        raise CatalogError(
            f"importing tool module {spec!r} failed: {type(exc).__name__}: {exc}",
            hint="Fix the module so that `python -c 'import ...'` works.",
        ) from exc
    tools = _module_tools(module)
    if not tools:
        raise CatalogError(
            f"module {spec!r} defines no tools",
            hint="Define LangChain tools at module level or list them in `TOOLS`.",
        )
    return tools


def tools_from_entry_points(group: str = ENTRY_POINT_GROUP) -> list[BaseTool]:
    """Tools that installed packages publish under the `flowwright.tools` entry-point group.

    An entry point may name a tool, a list of tools, or a module holding tools.
    """
    tools: list[BaseTool] = []
    for ep in entry_points(group=group):
        try:
            loaded = ep.load()
        except Exception as exc:
            raise CatalogError(
                f"entry point {ep.name!r} ({ep.value}) failed to load: {exc}",
                hint=f"Fix or uninstall the package that provides {ep.value!r}.",
            ) from exc
        if isinstance(loaded, BaseTool):
            tools.append(loaded)
        elif isinstance(loaded, list | tuple):
            tools.extend(t for t in loaded if isinstance(t, BaseTool))
        else:
            tools.extend(_module_tools(loaded))
    return tools


def tools_from_taskbench(path: str | Path) -> list[BaseTool]:
    """Planning-only tools from a TaskBench `tool_desc.json` (`{"nodes": [{id, desc, ...}]}`).

    They carry names, descriptions and parameters for the planner; calling one raises.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CatalogError(
            f"cannot read TaskBench catalog {path}: {exc}", hint="Give a tool_desc.json."
        ) from exc
    nodes = data.get("nodes") if isinstance(data, dict) else data
    if not isinstance(nodes, list) or not all(isinstance(n, dict) and "id" in n for n in nodes):
        raise CatalogError(
            f"{path} is not a TaskBench tool catalog",
            hint='Expected {"nodes": [{"id": ..., "desc": ...}, ...]}.',
        )
    return [_planning_tool(node) for node in nodes]


_TASKBENCH_TYPES = {
    "string": "string", "str": "string", "text": "string", "date": "string",
    "integer": "integer", "int": "integer", "number": "number", "float": "number",
    "boolean": "boolean", "bool": "boolean", "array": "array", "list": "array",
    "object": "object", "dict": "object",
}  # fmt: skip


def _planning_tool(node: dict[str, Any]) -> BaseTool:
    name = str(node["id"])
    params = node.get("parameters") or [
        {"name": t, "type": "string"} for t in node.get("input-type", []) or []
    ]
    properties = {
        str(p.get("name")): {
            "type": _TASKBENCH_TYPES.get(str(p.get("type", "string")).lower(), "string"),
            "description": p.get("desc") or p.get("description") or "",
        }
        for p in params
        if isinstance(p, dict) and p.get("name")
    }
    schema = {"type": "object", "properties": properties, "required": list(properties)}

    def refuse(**_: Any) -> Any:
        raise CatalogError(
            f"tool {name!r} comes from a planning-only catalog and cannot run",
            hint="Plan with it; run workflows with executable tools.",
        )

    return StructuredTool(
        name=name,
        description=str(node.get("desc", "")),
        args_schema=schema,
        func=refuse,
        metadata={
            META_KEY: {
                "category": ",".join(node.get("domain", [])) or "taskbench",
                "side_effect": "network",
                "output_schema": {},
                "planning_only": True,
            }
        },
    )


def load_catalog(
    *,
    modules: Iterable[str] = (),
    taskbench: str | Path | None = None,
    include_entry_points: bool = True,
) -> Catalog:
    """The catalog a command works with.

    A TaskBench file replaces the built-in tools (it is a different tool world); user modules
    and entry points extend the built-in catalog.
    """
    if taskbench is not None:
        return Catalog(tools_from_taskbench(taskbench))
    extra: list[BaseTool] = []
    for module in modules:
        extra.extend(tools_from_module(module))
    if include_entry_points:
        extra.extend(tools_from_entry_points())
    base = Catalog.builtin()
    return base.extended(extra) if extra else base

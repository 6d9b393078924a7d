"""`flowwright tools list` and `flowwright tools show`: what a workflow may call, and how."""

from __future__ import annotations

import difflib
import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from app.cli.catalogs import cli_catalog, requirement_status, step_id_for
from app.cli.render import out, print_json, schema_type, short
from app.tools.base import ToolInfo
from app.tools.registry import Catalog, CatalogError

_PLACEHOLDERS = {"integer": 1, "number": 1.0, "boolean": False, "array": [], "object": {}}


def info_dict(info: ToolInfo) -> dict[str, Any]:
    """A tool's facts as plain JSON data (the `--json` form)."""
    return {
        "name": info.name,
        "description": info.description,
        "category": info.category,
        "side_effect": str(info.side_effect),
        "input_schema": info.input_schema,
        "output_schema": info.output_schema,
        "requires": [str(r) for r in info.requires],
        "example": info.example,
        "planning_only": info.planning_only,
    }


def param_rows(info: ToolInfo) -> list[dict[str, Any]]:
    """One row per parameter: name, readable type, required, default (JSON) and description."""
    defs = info.input_schema.get("$defs", {})
    required = set(info.required_params)
    rows = []
    for name, schema in info.params.items():
        rows.append(
            {
                "name": name,
                "type": schema_type(schema, defs),
                "required": name in required,
                "default": json.dumps(schema["default"]) if "default" in schema else None,
                "description": schema.get("description", ""),
            }
        )
    return rows


def param_signature(info: ToolInfo, *, mark_required: str = "*") -> str:
    """`text*, region="US"`: required parameters marked, optional ones with their default."""
    parts = []
    for row in param_rows(info):
        if row["required"]:
            parts.append(f"{row['name']}{mark_required}")
        elif row["default"] is not None:
            parts.append(f"{row['name']}={row['default']}")
        else:
            parts.append(row["name"])
    return ", ".join(parts)


def example_params(info: ToolInfo) -> dict[str, Any]:
    """The tool's declared example, or placeholders for its required parameters."""
    if info.example:
        return dict(info.example)
    params: dict[str, Any] = {}
    for name in info.required_params:
        schema = info.params.get(name, {})
        if "default" in schema:
            params[name] = schema["default"]
        elif schema.get("examples"):
            params[name] = schema["examples"][0]
        else:
            params[name] = _PLACEHOLDERS.get(schema.get("type", ""), f"<{name}>")
    return params


def example_step_yaml(info: ToolInfo) -> str:
    """An example call written as a workflow step, ready to paste under `steps:`."""
    import yaml

    step = {"id": step_id_for(info.name), "tool": info.name, "params": example_params(info)}
    return yaml.safe_dump([step], sort_keys=False, allow_unicode=True, width=100)


def _filter(catalog: Catalog, category: str | None) -> list[ToolInfo]:
    infos = catalog.infos()
    if category is None:
        return infos
    chosen = [i for i in infos if i.category.lower() == category.lower()]
    if not chosen:
        known = sorted({i.category for i in infos})
        close = difflib.get_close_matches(category, known, n=3, cutoff=0.5)
        hint = f"Did you mean {', '.join(close)}?" if close else "Categories: " + ", ".join(known)
        raise CatalogError(f"no tools in category {category!r}", hint=hint, code="CATEGORY_UNKNOWN")
    return chosen


def run_list(
    *,
    category: str | None,
    as_json: bool,
    markdown: bool,
    catalog_file: str | None,
    modules: Sequence[str],
) -> int:
    """Print the catalog as a table, a JSON array, or the markdown reference of docs/tools.md."""
    catalog = cli_catalog(catalog_file, modules)
    infos = _filter(catalog, category)
    if as_json:
        print_json([info_dict(i) for i in infos])
        return 0
    if markdown:
        from app.cli.reference import tools_markdown

        sys.stdout.write(tools_markdown(infos))
        return 0
    table = Table(title=f"{len(infos)} tools", title_justify="left", expand=False)
    table.add_column("name", style="bold cyan", no_wrap=True)
    table.add_column("category", no_wrap=True)
    table.add_column("side effect", no_wrap=True)
    table.add_column("params (* required)", min_width=16)
    table.add_column("description", min_width=20)
    for info in infos:
        table.add_row(
            *map(
                Text,
                (
                    info.name,
                    info.category,
                    str(info.side_effect) + (" (planning only)" if info.planning_only else ""),
                    param_signature(info),
                    short(info.description, 70),
                ),
            )
        )
    out().print(table)
    return 0


def run_show(name: str, *, as_json: bool, catalog_file: str | None, modules: Sequence[str]) -> int:
    """Everything needed to call one tool from a workflow; unknown names raise with suggestions."""
    catalog = cli_catalog(catalog_file, modules)
    info = catalog.info(name)  # CatalogError(TOOL_UNKNOWN) with did-you-mean
    requirements = [requirement_status(str(r)) for r in info.requires]
    if as_json:
        print_json(
            info_dict(info)
            | {
                "params": param_rows(info),
                "output": schema_type(info.output_schema),
                "requirements": requirements,
                "example_step": example_step_yaml(info),
            }
        )
        return 0
    console = out()
    console.print(
        f"[bold cyan]{escape(info.name)}[/]  [dim]{escape(info.category)} · {info.side_effect}[/]"
    )
    console.print(Text(info.description))
    console.print()
    rows = param_rows(info)
    if rows:
        table = Table(title="Parameters", title_justify="left")
        for column in ("name", "type", "required", "default", "description"):
            table.add_column(column, no_wrap=column == "name")
        for row in rows:
            cells = (
                row["name"],
                row["type"],
                "yes" if row["required"] else "no",
                row["default"] if row["default"] is not None else "-",
                row["description"],
            )
            table.add_row(*map(Text, cells))
        console.print(table)
    else:
        console.print("Parameters: none")
    console.print(f"[bold]Output:[/] {escape(schema_type(info.output_schema))}")
    console.print(f"[bold]Side effect:[/] {info.side_effect} — {_side_effect_note(info)}")
    if requirements:
        for req in requirements:
            state = {True: "configured", False: f"not configured: set {req['env']}"}.get(
                req["configured"], "unknown: settings failed to load"
            )
            console.print(f"[bold]Requires:[/] {req['name']} ({state})")
    else:
        console.print("[bold]Requires:[/] nothing")
    if info.planning_only:
        console.print(
            "[yellow]Planning only:[/] this tool comes from a catalog file and cannot run."
        )
    console.print("[bold]Example step:[/]")
    console.print(Text(example_step_yaml(info)), end="")
    return 0


def _side_effect_note(info: ToolInfo) -> str:
    if str(info.side_effect) in ("pure", "reads"):
        return "runs in dry runs"
    return "simulated in dry runs (from its output schema)"

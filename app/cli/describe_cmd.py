"""`flowwright describe`: what a valid workflow will do, in which order, and what it touches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from app.cli.catalogs import cli_catalog
from app.cli.render import out, print_json, severity_of
from app.cli.validate_cmd import check_one, print_diagnostics, report_dict

SIMULATED = frozenset({"network", "writes"})


def stages(order: Sequence[str], deps: dict[str, set[str]]) -> dict[str, int]:
    """Stage 1 holds steps with no dependencies; steps in the same stage may run concurrently."""
    stage: dict[str, int] = {}
    for step_id in order:
        stage[step_id] = 1 + max((stage.get(d, 0) for d in deps.get(step_id, ())), default=0)
    return stage


def describe_data(spec: Any, catalog: Any) -> dict[str, Any]:
    """The description as plain data; the table view and `--json` both render from it."""
    from app.workflow.analysis import step_dependencies, topological_order

    deps = step_dependencies(spec)
    order = topological_order(spec)
    stage = stages(order, deps)
    order = sorted(order, key=lambda step_id: stage[step_id])  # stable: still topological
    steps = []
    for index, step_id in enumerate(order, start=1):
        step = spec.step(step_id)
        side_effect = _side_effect(catalog, step.tool)
        steps.append(
            {
                "order": index,
                "stage": stage[step_id],
                "id": step.id,
                "tool": step.tool,
                "description": step.description,
                "side_effect": side_effect,
                "depends_on": sorted(deps.get(step_id, ())),
                "when": step.when,
                "for_each": step.for_each,
                "retry": step.retry.model_dump(mode="json") if step.retry else None,
                "timeout_s": step.timeout_s,
                "on_error": step.on_error,
                "approval": step.approval,
                "dry_run": "simulated" if side_effect in SIMULATED else "executed",
            }
        )
    return {
        "name": spec.name,
        "description": spec.description,
        "inputs": [
            {"name": name, **inp.model_dump(mode="json")} for name, inp in spec.inputs.items()
        ],
        "steps": steps,
        "outputs": spec.outputs,
        "dry_run": {
            "executed": [s["id"] for s in steps if s["dry_run"] == "executed"],
            "simulated": [s["id"] for s in steps if s["dry_run"] == "simulated"],
        },
        "approval_required": [s["id"] for s in steps if s["approval"]],
    }


def _side_effect(catalog: Any, tool: str) -> str:
    try:
        return str(catalog.info(tool).side_effect)
    except Exception:  # unknown tools are validation errors; describe never gets here with one
        return "unknown"


def _flags(step: dict[str, Any]) -> str:
    flags = []
    if step["retry"]:
        flags.append(f"retry×{step['retry'].get('max_attempts')}")
    if step["timeout_s"]:
        flags.append(f"timeout {step['timeout_s']:g}s")
    if step["on_error"] != "fail":
        flags.append(f"on_error={step['on_error']}")
    if step["approval"]:
        flags.append("approval")
    return ", ".join(flags)


def _show(value: Any) -> str:
    if value is None:
        return ""
    import json

    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def print_description(data: dict[str, Any]) -> None:
    """The human view: inputs, step table in execution order, outputs, dry-run side effects."""
    console = out()
    console.print(f"[bold cyan]{escape(data['name'])}[/]")
    if data["description"]:
        console.print(Text(data["description"]))
    console.print()
    if data["inputs"]:
        table = Table(title="Inputs", title_justify="left")
        for column in ("name", "type", "required", "default", "example", "description"):
            table.add_column(column)
        for inp in data["inputs"]:
            cells = (
                inp["name"],
                str(inp["type"]),
                "yes" if inp["required"] else "no",
                _show(inp.get("default")),
                _show(inp.get("example")),
                inp.get("description") or "",
            )
            table.add_row(*map(Text, cells))
        console.print(table)
    else:
        console.print("Inputs: none")
    table = Table(title="Steps (same stage = may run concurrently)", title_justify="left")
    for column in ("#", "stage", "id", "tool", "side effect"):
        table.add_column(column, no_wrap=True)
    table.add_column("depends on")
    table.add_column("flags", overflow="fold")
    for step in data["steps"]:
        cells = (
            str(step["order"]),
            str(step["stage"]),
            step["id"],
            step["tool"],
            step["side_effect"],
            ", ".join(step["depends_on"]),
            _flags(step),
        )
        table.add_row(*map(Text, cells))
    console.print(table)
    runs = [(s["id"], key, s[key]) for s in data["steps"] for key in ("when", "for_each")]
    runs = [(step_id, key, value) for step_id, key, value in runs if value is not None]
    if runs:
        console.print("[bold]Conditions and loops[/]")
        for step_id, key, value in runs:
            console.print(Text(f"  {step_id}: {key.replace('_', ' ')} {_show(value)}"))
    if data["outputs"]:
        console.print("[bold]Outputs[/]")
        for name, value in data["outputs"].items():
            console.print(f"  {escape(name)}: {escape(_show(value))}")
    dry = data["dry_run"]
    console.print("[bold]Dry run[/]")
    console.print(f"  executes: {', '.join(dry['executed']) or '-'}")
    simulated = [f"{s['id']} ({s['side_effect']})" for s in data["steps"] if s["id"] in
                 dry["simulated"]]  # fmt: skip
    console.print(f"  simulates: {', '.join(simulated) or '-'}")
    if data["approval_required"]:
        console.print(f"  pauses for approval before: {', '.join(data['approval_required'])}")


def run_describe(
    file: str, *, as_json: bool, catalog_file: str | None, modules: Sequence[str]
) -> int:
    """Validate, then describe; an invalid spec prints its diagnostics and exits 2."""
    from app.config import get_settings

    catalog = cli_catalog(catalog_file, modules)
    checked = check_one(file, catalog, get_settings())
    if not checked.report.ok or checked.report.spec is None:
        if as_json:
            print_json(report_dict(checked))
        else:
            print_diagnostics(checked)
        return 2
    data = describe_data(checked.report.spec, catalog)
    if as_json:
        print_json(
            {"source": checked.label, **data} | {"diagnostics": report_dict(checked)["diagnostics"]}
        )
        return 0
    print_diagnostics(checked)  # warnings, if any
    if any(severity_of(d) == "warning" for d in checked.report.diagnostics):
        out().print()
    print_description(data)
    return 0

"""`flowwright runs ...`: list, show, resume, approve, reject and prune recorded runs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine, Sequence
from datetime import timedelta
from typing import Any

from rich.markup import escape
from rich.table import Table

from app.cli.catalogs import cli_catalog
from app.cli.render import out, print_json
from app.cli.run_cmd import EXIT_OK, EXIT_RUN_FAILED
from app.cli.run_view import RUN_STYLE, live_steps, print_result, step_row, step_table


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def run_list(
    *, status: str | None, workflow: str | None, limit: int, offset: int, as_json: bool
) -> int:
    from app.db import history
    from app.db.migrate import ensure_schema

    ensure_schema()
    runs = history.list_runs(limit=limit, offset=offset, status=status, workflow=workflow)
    if as_json:
        print_json([r.model_dump(mode="json") for r in runs])
        return EXIT_OK
    table = Table(header_style="bold")
    table.add_column("run", no_wrap=True, min_width=32)  # ids are copied into other commands
    for column in ("workflow", "status", "created", "duration", "steps"):
        table.add_column(column)
    for run in runs:
        style = RUN_STYLE.get(run.status.value, "white")
        label = run.status.value + (" (dry)" if run.dry_run else "")
        counts = ", ".join(f"{n} {s}" for s, n in sorted(run.step_counts.items()))
        duration = f"{run.duration_ms / 1000:.2f} s" if run.duration_ms is not None else ""
        table.add_row(run.id, escape(run.workflow), f"[{style}]{label}[/]",
                      _when(run.created_at), duration, counts)  # fmt: skip
    out().print(table if runs else "no runs recorded yet")
    return EXIT_OK


def run_show(run_id: str, *, as_json: bool) -> int:
    from app.db import history
    from app.db.migrate import ensure_schema
    from app.services.runs import run_not_found

    ensure_schema()
    record = history.get_run(run_id)
    if record is None:
        raise run_not_found(run_id)
    if as_json:
        print_json(record.model_dump(mode="json"))
        return EXIT_OK
    console = out()
    style = RUN_STYLE.get(record.status.value, "white")
    dry = " (dry run)" if record.dry_run else ""
    console.print(
        f"run [bold]{record.id}[/] of [bold]{escape(record.workflow)}[/]: "
        f"[{style}]{record.status.value}[/]{dry}"
    )
    when = f"created {_when(record.created_at)}"
    if record.finished_at:
        when += f", finished {_when(record.finished_at)}"
    console.print(when)
    console.print("inputs: " + json.dumps(record.inputs, default=str))
    stored = {s.id: s for s in record.steps}
    rows = []
    for step in record.spec.steps:  # every step, including ones that have not run yet
        done = stored.get(step.id)
        if done is None:
            waiting = step.id == record.waiting_for
            rows.append({"id": step.id, "tool": step.tool,
                         "status": "waiting" if waiting else "pending",
                         "detail": "waiting for approval" if waiting else None})  # fmt: skip
            continue
        rows.append(step_row(done))
    console.print(step_table(rows))
    if record.outputs:
        console.print("outputs:")
        console.print_json(json.dumps(record.outputs, default=str))
    if record.error:
        console.print(f"[red]error[{record.error['code']}][/]: {escape(record.error['message'])}")
    return EXIT_OK


def _continue(
    run_id: str,
    modules: Sequence[str],
    as_json: bool,
    action: Callable[[Any, Any], Coroutine[Any, Any, Any]],
) -> int:
    """Open the run service, run `action(service, on_event)` with a live view, print the result."""
    from app.db import history
    from app.services.runs import run_service

    catalog = cli_catalog(None, modules)
    record = history.get_run(run_id)

    async def go() -> Any:
        async with run_service(catalog) as service:
            spec = record.spec if record else None
            with live_steps(spec, enabled=bool(spec) and not as_json) as on_event:
                return await action(service, on_event)

    result = asyncio.run(go())
    if as_json:
        print_json(result.model_dump(mode="json"))
    else:
        print_result(result)
    return EXIT_RUN_FAILED if result.status.value in ("failed", "rejected") else EXIT_OK


def run_resume(run_id: str, *, modules: Sequence[str], as_json: bool) -> int:
    return _continue(
        run_id, modules, as_json, lambda svc, on_event: svc.resume(run_id, on_event=on_event)
    )


def run_decide(
    run_id: str, *, approved: bool, reason: str | None, modules: Sequence[str], as_json: bool
) -> int:
    return _continue(
        run_id,
        modules,
        as_json,
        lambda svc, on_event: svc.decide(
            run_id, approved=approved, reason=reason, on_event=on_event
        ),
    )


def run_prune(*, older_than_days: int | None, as_json: bool) -> int:
    from app.config import get_settings
    from app.services.runs import run_service

    days = older_than_days if older_than_days is not None else get_settings().history_retention_days

    async def go() -> Any:
        async with run_service(cli_catalog(None, ())) as service:
            return await service.prune(older_than=timedelta(days=days))

    report = asyncio.run(go())
    if as_json:
        print_json(report.model_dump(mode="json"))
    else:
        out().print(
            f"pruned {report.runs} runs, {report.steps} step results and "
            f"{report.checkpoints} checkpoint threads finished before {_when(report.cutoff)}"
        )
    return EXIT_OK

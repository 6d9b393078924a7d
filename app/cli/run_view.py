"""How runs look in a terminal: a live step table while running, then the result."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.live import Live
from rich.markup import escape
from rich.table import Table

from app.cli.render import err, out, short

STATUS_STYLE = {
    "pending": ("·", "dim"),
    "succeeded": ("✓", "green"),
    "simulated": ("~", "cyan"),
    "skipped": ("-", "dim"),
    "failed": ("✗", "red"),
    "cancelled": ("-", "yellow"),
    "rejected": ("✗", "yellow"),
    "waiting": ("?", "magenta"),
}
RUN_STYLE = {
    "succeeded": "green",
    "failed": "red",
    "rejected": "yellow",
    "waiting_approval": "magenta",
    "running": "yellow",
}


def _status_cell(status: str) -> str:
    mark, style = STATUS_STYLE.get(status, ("?", "white"))
    return f"[{style}]{mark} {status}[/]"


def step_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    for column in ("step", "tool", "status", "time", "detail"):
        table.add_column(column, no_wrap=column != "detail")
    for row in rows:
        duration = row.get("duration_ms")
        table.add_row(
            escape(row["id"]),
            escape(row["tool"]),
            _status_cell(row["status"]),
            f"{duration:.0f} ms" if duration is not None else "",
            escape(short(row.get("detail") or "", 70)),
        )
    return table


@contextmanager
def live_steps(spec: Any, enabled: bool) -> Iterator[Any]:
    """Yield an event callback that updates a live table of the spec's steps (on stderr)."""
    rows = {s.id: {"id": s.id, "tool": s.tool, "status": "pending"} for s in spec.steps}

    def render() -> Table:
        return step_table(list(rows.values()))

    if not enabled:
        yield lambda event: None
        return
    with Live(render(), console=err(), refresh_per_second=10, transient=True) as live:

        def on_event(event: dict[str, Any]) -> None:
            step = event.get("step")
            if step not in rows:
                return
            if event.get("event") == "approval_requested":
                rows[step]["status"] = "waiting"
            else:
                rows[step]["status"] = event.get("status", "pending")
                if "started_at" in event and "finished_at" in event:
                    rows[step]["duration_ms"] = (event["finished_at"] - event["started_at"]) * 1e3
                error = event.get("error") or {}
                rows[step]["detail"] = error.get("message") or event.get("reason")
            live.update(render())

        yield on_event


def step_row(step: Any) -> dict[str, Any]:
    """A table row for a finished step (a live `StepResult` or a stored history step)."""
    return {
        "id": step.id,
        "tool": step.tool,
        "status": step.status.value,
        "duration_ms": step.duration_ms,
        "detail": (step.error or {}).get("message") or step.reason,
    }


def print_result(result: Any) -> None:
    """The run's steps, outputs and what to do next."""
    console = out()
    console.print(step_table([step_row(s) for s in result.steps]))
    style = RUN_STYLE.get(result.status.value, "white")
    label = "dry run" if result.dry_run else "run"
    console.print(f"\n{label} [bold]{result.run_id}[/]: [{style}]{result.status.value}[/]")
    if result.simulated_steps:
        console.print(
            "simulated (not executed): " + ", ".join(result.simulated_steps),
            style="cyan",
        )
    for step in result.steps:
        if step.error:
            console.print(f"[red]error[{step.error['code']}][/] in {step.id}: "
                          f"{escape(step.error['message'])}")  # fmt: skip
            if step.error.get("hint"):
                console.print(f"  = hint: {escape(step.error['hint'])}")
    if result.outputs:
        console.print("outputs:")
        console.print_json(json.dumps(result.outputs, default=str))
    if result.waiting_for:
        console.print(
            f"waiting for approval of step [bold]{result.waiting_for}[/]: "
            f"`flowwright runs approve {result.run_id}` or "
            f"`flowwright runs reject {result.run_id} --reason ...`"
        )

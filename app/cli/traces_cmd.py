"""`flowwright traces ...`: list, show and export traces from the local trace store.

`app.cli.main` imports this module at start-up to register the `traces` group, so only typer is
imported at module level; rich, SQLAlchemy and the trace store load when a command runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.tree import Tree

EXIT_OK = 0
STATUS_STYLE = {"success": "green", "error": "red", "interrupted": "yellow", "pending": "cyan"}
PREVIEW_CHARS = 160


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _ms(value: float | None) -> str:
    if value is None:
        return "…"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.1f} ms"


def _preview(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def run_list(*, job_id: str | None, run_id: str | None, limit: int, as_json: bool) -> int:
    from rich.markup import escape
    from rich.table import Table

    from app.cli.render import out, print_json
    from app.observability.traces import list_traces

    traces = list_traces(limit=limit, job_id=job_id, run_id=run_id)
    if as_json:
        print_json([t.model_dump(mode="json") for t in traces])
        return EXIT_OK
    table = Table(header_style="bold")
    table.add_column("trace", no_wrap=True, min_width=36)  # ids are copied into `traces show`
    for column in ("name", "status", "started", "duration", "runs", "job / run"):
        table.add_column(column)
    for t in traces:
        style = STATUS_STYLE.get(t.status, "white")
        owner = " / ".join(x for x in (t.job_id, t.run_id) if x)
        table.add_row(t.trace_id, escape(t.name), f"[{style}]{t.status}[/]",
                      _when(t.start_time), _ms(t.duration_ms), str(t.runs), owner)  # fmt: skip
    out().print(table if traces else "no traces recorded yet")
    return EXIT_OK


def _label(node: Any) -> str:
    from rich.markup import escape

    style = STATUS_STYLE.get(node.status, "white")
    tool = node.metadata.get("tool")
    name = f"{node.name} ({tool})" if isinstance(tool, str) and tool != node.name else node.name
    return (
        f"[bold]{escape(name)}[/] [dim]{node.run_type}[/] "
        f"[{style}]{node.status}[/] {_ms(node.duration_ms)}"
    )


def _add(branch: Tree, node: Any) -> None:
    child = branch.add(_label(node))
    _details(child, node)
    for sub in node.children:
        _add(child, sub)


def _details(branch: Tree, node: Any) -> None:
    from rich.markup import escape

    if node.inputs not in (None, {}, []):
        branch.add(f"[dim]in:[/]  {escape(_preview(node.inputs))}")
    if node.outputs not in (None, {}, []):
        branch.add(f"[dim]out:[/] {escape(_preview(node.outputs))}")
    if node.error:
        first = node.error.split("Traceback (most recent call last)")[0].strip().splitlines()
        branch.add(f"[red]error:[/] {escape(_preview(first[0] if first else node.error))}")


def run_show(trace_id: str, *, as_json: bool) -> int:
    from rich.tree import Tree

    from app.cli.render import out, print_json
    from app.observability.traces import get_trace

    trace = get_trace(trace_id)
    if as_json:
        print_json(trace.model_dump(mode="json"))
        return EXIT_OK
    owner = ", ".join(f"{k} {v}" for k, v in (("job", trace.job_id), ("run", trace.run_id)) if v)
    console = out()
    console.print(
        f"trace [bold]{trace.trace_id}[/] ({trace.runs} runs"
        + (f"; {owner}" if owner else "")
        + f"), started {_when(trace.root.start_time)}"
    )
    tree = Tree(_label(trace.root))
    _details(tree, trace.root)
    for node in trace.root.children:
        _add(tree, node)
    console.print(tree)
    return EXIT_OK


def run_export(trace_id: str, *, out_file: str | None) -> int:
    from rich.markup import escape

    from app.cli.render import out, print_json
    from app.observability.traces import export_trace

    runs = export_trace(trace_id)
    if out_file is None:
        print_json(runs)
        return EXIT_OK
    text = json.dumps(runs, indent=2, ensure_ascii=False, default=str) + "\n"
    Path(out_file).write_text(text, encoding="utf-8")
    out().print(f"wrote {len(runs)} runs to {escape(out_file)}")
    return EXIT_OK


# --- the `traces` command group (registered by app.cli.main) ---------------------------------
traces_app = typer.Typer(help="Inspect traces in the local trace store.", no_args_is_help=True)
TraceIdArg = Annotated[str, typer.Argument(metavar="TRACE_ID", help="Trace id (or a prefix).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _call(func: Any, *args: Any, **kwargs: Any) -> None:
    from app.cli.main import _run  # same error handling and exit codes as every command

    _run(func, *args, **kwargs)


@traces_app.command("list")
def traces_list(
    job: Annotated[str | None, typer.Option("--job", help="Only traces of this job.")] = None,
    run: Annotated[str | None, typer.Option("--run", help="Only traces of this run.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Stored traces, newest first."""
    _call(run_list, job_id=job, run_id=run, limit=limit, as_json=as_json)


@traces_app.command("show")
def traces_show(trace_id: TraceIdArg, as_json: JsonOpt = False) -> None:
    """One trace as a tree: every run with its status, timing, inputs and outputs."""
    _call(run_show, trace_id, as_json=as_json)


@traces_app.command("export")
def traces_export(
    trace_id: TraceIdArg,
    out_file: Annotated[
        str | None, typer.Option("--out", "-o", metavar="FILE", help="Write to FILE.")
    ] = None,
) -> None:
    """A trace's runs as JSON in LangSmith's run format (parents first)."""
    _call(run_export, trace_id, out_file=out_file)

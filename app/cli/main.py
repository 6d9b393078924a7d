"""The `flowwright` command line.

Start-up must stay fast: this module imports only typer and `app.errors`; each command imports
its implementation (rich tables, pydantic, LangChain, the tools, jinja2) when it runs.
Exit codes: 0 success, 2 invalid input (diagnostics with errors, unknown names, missing files,
bad options), 130 interrupted.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from app.cli.backend_cmd import model_app
from app.cli.serve_cmd import serve
from app.cli.traces_cmd import traces_app
from app.cli.users_cmd import keys_app, users_app
from app.errors import FlowwrightError

EXIT_INVALID = 2

app = typer.Typer(
    name="flowwright",
    help="Plain English in, validated LangGraph workflows and code out: plan, validate, run and "
    "generate workflows, generate FastAPI backends, serve the REST API.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
tools_app = typer.Typer(help="Browse the tool catalog.", no_args_is_help=True)
spec_app = typer.Typer(help="Workflow spec v1 utilities.", no_args_is_help=True)
app.add_typer(tools_app, name="tools")
app.add_typer(spec_app, name="spec")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(model_app, name="model")
app.command("serve")(serve)
runs_app = typer.Typer(help="Inspect, resume, approve and prune runs.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
app.add_typer(traces_app, name="traces")

CatalogOpt = Annotated[
    str | None,
    typer.Option(
        "--catalog",
        metavar="FILE",
        help="TaskBench tool_desc.json to use instead of the built-in tools (planning only).",
    ),
]
ModuleOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--module",
        "-m",
        metavar="M",
        help="Extra tool module (dotted name or .py path); repeatable.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def print_error(exc: FlowwrightError) -> None:
    """`error[CODE]: message` and `hint: ...` on stderr, never a traceback."""
    sys.stderr.write(f"error[{exc.code}]: {exc.message}\n")
    if exc.hint:
        sys.stderr.write(f"hint: {exc.hint}\n")


def _as_user_error(exc: Exception) -> FlowwrightError | None:
    """Errors caused by the user's environment rather than a bug, as FlowwrightErrors."""
    if isinstance(exc, FlowwrightError):
        return exc
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and isinstance(exc, pydantic.ValidationError):
        # Only settings are validated outside the validator (which reports, never raises).
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ())) or exc.title
        return FlowwrightError(
            f"invalid configuration: {where}: {first.get('msg', exc)}",
            hint=f"Fix FLOWWRIGHT_{where.upper()} (see docs/configuration.md).",
            code="CONFIG_INVALID",
        )
    return None


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn user errors raised by a command into a clean message and exit code 2."""
    try:
        yield
    except Exception as exc:
        user_error = _as_user_error(exc)
        if user_error is None:
            raise
        print_error(user_error)
        raise typer.Exit(EXIT_INVALID) from None


def _run(func: Callable[..., int], *args: Any, **kwargs: Any) -> None:
    with user_errors():
        code = func(*args, **kwargs)
    if code:
        raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        from app import __version__

        typer.echo(f"flowwright {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Flowwright: plain English in, validated LangGraph workflows out."""


@tools_app.command("list")
def tools_list(
    category: Annotated[
        str | None, typer.Option("--category", "-c", help="Only tools of this category.")
    ] = None,
    as_json: JsonOpt = False,
    catalog: CatalogOpt = None,
    module: ModuleOpt = None,
    markdown: Annotated[
        bool, typer.Option("--markdown", hidden=True, help="Markdown reference (docs/tools.md).")
    ] = False,
) -> None:
    """List the tools a workflow may call."""
    from app.cli.tools_cmd import run_list

    _run(
        run_list,
        category=category,
        as_json=as_json,
        markdown=markdown,
        catalog_file=catalog,
        modules=module or [],
    )


@tools_app.command("show")
def tools_show(
    name: Annotated[str, typer.Argument(help="Tool name, e.g. validate_email.")],
    as_json: JsonOpt = False,
    catalog: CatalogOpt = None,
    module: ModuleOpt = None,
) -> None:
    """Show one tool: parameters, output, side effect, requirements and an example step."""
    from app.cli.tools_cmd import run_show

    _run(run_show, name, as_json=as_json, catalog_file=catalog, modules=module or [])


@app.command()
def validate(
    files: Annotated[
        list[str], typer.Argument(metavar="FILE...", help="Spec files (YAML/JSON); - for stdin.")
    ],
    as_json: JsonOpt = False,
    catalog: CatalogOpt = None,
    module: ModuleOpt = None,
) -> None:
    """Validate workflow specs; exit 0 when all are valid (warnings allowed), 2 otherwise."""
    from app.cli.validate_cmd import run_validate

    _run(run_validate, files, as_json=as_json, catalog_file=catalog, modules=module or [])


@app.command()
def describe(
    file: Annotated[
        str, typer.Argument(metavar="FILE", help="Spec file (YAML/JSON); - for stdin.")
    ],
    as_json: JsonOpt = False,
    catalog: CatalogOpt = None,
    module: ModuleOpt = None,
) -> None:
    """Describe a valid workflow: inputs, steps in order, outputs and what a dry run simulates."""
    from app.cli.describe_cmd import run_describe

    _run(run_describe, file, as_json=as_json, catalog_file=catalog, modules=module or [])


@spec_app.command("schema")
def spec_schema(
    out: Annotated[
        str | None, typer.Option("--out", "-o", metavar="FILE", help="Write to FILE.")
    ] = None,
) -> None:
    """Print the JSON Schema of workflow spec v1."""
    from app.cli.spec_cmd import run_schema

    _run(run_schema, out)


@app.command("plan")
def plan_request(
    request: Annotated[str, typer.Argument(metavar="REQUEST", help="What the workflow should do.")],
    as_json: JsonOpt = False,
    catalog: CatalogOpt = None,
) -> None:
    """Plan a workflow spec from a plain-English request (rules planner); exit 2 if it cannot."""
    from app.cli.plan_cmd import run_plan

    _run(run_plan, request, as_json=as_json, catalog_file=catalog)


@app.command("eval")
def eval_planner(
    data: Annotated[str, typer.Argument(metavar="DATA", help="Gold records (JSONL or JSON).")],
    catalog: CatalogOpt = None,
    split: Annotated[
        str | None, typer.Option("--split", metavar="FILE", help="split_ids.json: test ids only.")
    ] = None,
    predictions: Annotated[
        str | None, typer.Option("--predictions", metavar="OUT", help="Write plans (JSONL).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Measure the planner on gold requests: node/link/argument F1, validity, latency."""
    from app.cli.plan_cmd import run_eval

    _run(
        run_eval, data, catalog_file=catalog, split=split, predictions=predictions, as_json=as_json
    )


@app.command("run")
def run(
    file: Annotated[str, typer.Argument(metavar="FILE", help="Workflow spec (YAML/JSON).")],
    input: Annotated[
        list[str] | None,
        typer.Option("--input", "-i", metavar="NAME=VALUE", help="A workflow input; repeatable."),
    ] = None,
    inputs_file: Annotated[
        str | None, typer.Option("--inputs-file", metavar="F", help="JSON/YAML mapping of inputs.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Execute pure/reads tools; simulate the others.")
    ] = False,
    example_inputs: Annotated[
        bool, typer.Option("--example-inputs", help="Use inputs' `example` values as defaults.")
    ] = False,
    batch: Annotated[
        str | None,
        typer.Option("--batch", metavar="ROWS", help="Run once per row of a .csv or .jsonl file."),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=64, help="Batch rows run at once.")
    ] = 4,
    output: Annotated[
        str | None, typer.Option("--output", metavar="F", help="Batch results file (JSONL).")
    ] = None,
    as_json: JsonOpt = False,
    module: ModuleOpt = None,
) -> None:
    """Run a workflow (exit 0 ok, 1 run failed, 2 invalid spec or inputs)."""
    if batch:
        from app.cli.batch_cmd import run_batch_file

        _run(run_batch_file, file, rows=batch, output=output, concurrency=concurrency,
             dry_run=dry_run, as_json=as_json, modules=module or [])  # fmt: skip
        return
    from app.cli.run_cmd import run_workflow

    _run(run_workflow, file, inputs=input or [], inputs_file=inputs_file, dry_run=dry_run,
         as_json=as_json, modules=module or [], example_inputs=example_inputs)  # fmt: skip


RunIdArg = Annotated[str, typer.Argument(metavar="RUN_ID", help="The run id.")]


@runs_app.command("list")
def runs_list(
    status: Annotated[str | None, typer.Option("--status", help="Only this status.")] = None,
    workflow: Annotated[str | None, typer.Option("--workflow", help="Only this workflow.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 20,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Recorded runs, newest first."""
    from app.cli.runs_cmd import run_list

    _run(run_list, status=status, workflow=workflow, limit=limit, offset=offset, as_json=as_json)


@runs_app.command("show")
def runs_show(run_id: RunIdArg, as_json: JsonOpt = False) -> None:
    """One run: inputs, every step's status, attempts, timing, error and the outputs."""
    from app.cli.runs_cmd import run_show

    _run(run_show, run_id, as_json=as_json)


@runs_app.command("resume")
def runs_resume(run_id: RunIdArg, as_json: JsonOpt = False, module: ModuleOpt = None) -> None:
    """Continue an interrupted run from its checkpoint; finished steps do not run again."""
    from app.cli.runs_cmd import run_resume

    _run(run_resume, run_id, modules=module or [], as_json=as_json)


@runs_app.command("approve")
def runs_approve(run_id: RunIdArg, as_json: JsonOpt = False, module: ModuleOpt = None) -> None:
    """Approve the step a run is waiting for and continue it."""
    from app.cli.runs_cmd import run_decide

    _run(run_decide, run_id, approved=True, reason=None, modules=module or [], as_json=as_json)


@runs_app.command("reject")
def runs_reject(
    run_id: RunIdArg,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (kept with the run).")] = None,
    as_json: JsonOpt = False,
    module: ModuleOpt = None,
) -> None:
    """Reject the step a run is waiting for; the run ends as rejected."""
    from app.cli.runs_cmd import run_decide

    _run(run_decide, run_id, approved=False, reason=reason, modules=module or [], as_json=as_json)


@runs_app.command("prune")
def runs_prune(
    older_than_days: Annotated[
        int | None,
        typer.Option("--older-than-days", min=1, help="Default: history_retention_days."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete finished runs (and their checkpoints) older than the retention period."""
    from app.cli.runs_cmd import run_prune

    _run(run_prune, older_than_days=older_than_days, as_json=as_json)


from app.cli import generate_cmd  # noqa: E402 - imports only typer; registers generate, graph

generate_cmd.register(app)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: user errors become `error[CODE]: ...` and exit 2, never tracebacks."""
    try:
        app(args=argv, prog_name="flowwright")
    except FlowwrightError as exc:  # raised outside a command body (e.g. while parsing)
        print_error(exc)
        sys.exit(EXIT_INVALID)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)


if __name__ == "__main__":
    main()

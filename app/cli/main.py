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

from app.errors import FlowwrightError

EXIT_INVALID = 2

app = typer.Typer(
    name="flowwright",
    help="Plain English in, validated LangGraph workflows out. Validate and inspect workflow "
    "specs and the tool catalog.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
tools_app = typer.Typer(help="Browse the tool catalog.", no_args_is_help=True)
spec_app = typer.Typer(help="Workflow spec v1 utilities.", no_args_is_help=True)
app.add_typer(tools_app, name="tools")
app.add_typer(spec_app, name="spec")

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

"""`flowwright model ...` commands and the backend generation command function.

Only typer is imported at module level (start-up stays fast); the backend package, rich and
pydantic load when a command runs. `generate_backend_command` is wired by the `generate` group.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

EXIT_INVALID = 2

model_app = typer.Typer(help="Backend data models: validate, JSON Schema.", no_args_is_help=True)


def _lines(path: Path) -> list[str] | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None


def _print_report(report: object, label: str, lines: list[str] | None) -> tuple[int, int]:
    from app.cli.render import diagnostic_text, out, severity_of

    console = out()
    diags = getattr(report, "diagnostics", [])
    for diag in diags:
        console.print(diagnostic_text(diag, label, lines))
    errors = sum(1 for d in diags if severity_of(d) == "error")
    return errors, sum(1 for d in diags if severity_of(d) == "warning")


@model_app.command("validate")
def validate_model_command(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Data model (YAML/JSON).")],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print machine-readable JSON.")
    ] = False,
) -> None:
    """Validate a data model (Flowwright or BackBone-AI format); exit 0 if valid, 2 otherwise."""
    from app.backend.validator import load_model_file
    from app.cli.render import out, plural, print_json

    report = load_model_file(file)
    if json_output:
        print_json(
            {
                "source": str(file),
                "ok": report.ok,
                "converted_from": report.converted_from,
                "diagnostics": [d.model_dump(mode="json") for d in report.diagnostics],
                "entities": [e.name for e in report.model.entities] if report.model else [],
            }
        )
    else:
        errors, warnings = _print_report(report, str(file), _lines(file))
        status = "valid" if report.ok else "invalid"
        extra = f" (converted from {report.converted_from})" if report.converted_from else ""
        count = plural(len(report.model.entities), "entity") if report.model else "no model"
        out().print(
            f"{file}: {status}{extra}, {count.replace('entitys', 'entities')}: "
            f"{plural(errors, 'error')}, {plural(warnings, 'warning')}"
        )
    if not report.ok:
        raise typer.Exit(EXIT_INVALID)


@model_app.command("schema")
def model_schema_command() -> None:
    """Print the JSON Schema of the backend data model."""
    from app.backend.model import model_json_schema
    from app.cli.render import print_json

    print_json(model_json_schema())


def generate_backend_command(
    model: Annotated[
        Path | None, typer.Option("--model", metavar="FILE", help="Data model.")
    ] = None,
    request: Annotated[str | None, typer.Argument(metavar="REQUEST", help="Plain English.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", metavar="DIR", help="Output dir.")] = Path(
        "backend"
    ),
    run_checks: Annotated[
        bool,
        typer.Option(
            "--checks/--no-checks", help="Run ruff, import, alembic and the generated tests."
        ),
    ] = True,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing non-empty --out directory.")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")] = False,
) -> None:
    """Generate a FastAPI + SQLAlchemy service from a data model or a plain-English request."""
    import os

    from app.backend.render import RenderError
    from app.backend.service import generate_backend
    from app.cli.render import err, print_json
    from app.cli.render import out as stdout

    if (model is None) == (request is None):
        err().print("error[BACKEND_INPUT]: give either --model FILE or a REQUEST")
        raise typer.Exit(EXIT_INVALID)
    try:
        result = generate_backend(
            model if model is not None else str(request),
            out,
            run_checks=run_checks,
            postgres_url=os.environ.get("FLOWWRIGHT_BACKEND_POSTGRES_URL"),
            overwrite=overwrite,
        )
    except RenderError as exc:
        err().print(
            f"error[{exc.code}]: {exc.message}" + (f"\nhint: {exc.hint}" if exc.hint else "")
        )
        raise typer.Exit(EXIT_INVALID) from None
    if json_output:
        print_json(result.to_dict())
    else:
        label = str(model) if model is not None else "<request>"
        _print_report(result.report, label, _lines(model) if model is not None else None)
        console = stdout()
        if result.out_dir is not None:
            console.print(
                f"wrote {len(result.files)} files to {result.out_dir} in "
                f"{result.timings.get('generate', 0):.2f}s"
            )
        for check in result.checks:
            mark = "ok  " if check.ok else "FAIL"
            first = check.detail.splitlines()[0] if check.ok and check.detail else ""
            console.print(f"  {mark} {check.name} ({check.seconds:.1f}s) {first}")
            if not check.ok:
                console.print(check.detail)
    if not result.ok:
        raise typer.Exit(EXIT_INVALID)

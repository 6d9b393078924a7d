"""`flowwright validate`: check workflow specs and report diagnostics like a compiler."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.markup import escape

from app.cli.catalogs import cli_catalog
from app.cli.render import diagnostic_text, out, plural, print_json, severity_of, summary_line

STDIN = "-"
STDIN_LABEL = "<stdin>"


@dataclass
class Checked:
    """One validated input: how to name it, the validator's report, and its lines for snippets."""

    label: str
    report: Any  # app.workflow.validator.ValidationReport
    lines: list[str] | None

    @property
    def errors(self) -> int:
        return sum(1 for d in self.report.diagnostics if severity_of(d) == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for d in self.report.diagnostics if severity_of(d) == "warning")


def check_one(name: str, catalog: Any, settings: Any = None) -> Checked:
    """Validate a path (or `-` for stdin); the validator reports bad input, it never raises."""
    from app.workflow.validator import validate_file, validate_text

    if name == STDIN:
        text = sys.stdin.read()
        report = validate_text(text, catalog, source=STDIN_LABEL, settings=settings)
        return Checked(STDIN_LABEL, report, text.splitlines())
    report = validate_file(Path(name), catalog, settings=settings)
    return Checked(name, report, _source_lines(Path(name), settings))


def _source_lines(path: Path, settings: Any) -> list[str] | None:
    """The file's lines for caret snippets; None when unreadable or too large to show."""
    limit = getattr(settings, "max_spec_bytes", None) or 1_000_000
    try:
        if path.stat().st_size > limit:
            return None
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None


def report_dict(checked: Checked) -> dict[str, Any]:
    """The `--json` form of one result."""
    return {
        "source": checked.label,
        "ok": bool(checked.report.ok),
        "diagnostics": [d.model_dump(mode="json") for d in checked.report.diagnostics],
    }


def print_diagnostics(checked: Checked) -> None:
    """Every diagnostic of one input, compiler style."""
    console = out()
    for diag in checked.report.diagnostics:
        console.print(diagnostic_text(diag, checked.label, checked.lines))


def run_validate(
    files: Sequence[str], *, as_json: bool, catalog_file: str | None, modules: Sequence[str]
) -> int:
    """Validate every file; 0 when none has errors (warnings allowed), else 2."""
    from app.config import get_settings

    settings = get_settings()
    catalog = cli_catalog(catalog_file, modules)
    results = [check_one(name, catalog, settings) for name in files]
    if as_json:
        print_json([report_dict(r) for r in results])
    else:
        console = out()
        for result in results:
            print_diagnostics(result)
            if result.report.ok:
                extra = f" ({plural(result.warnings, 'warning')})" if result.warnings else ""
                console.print(f"[green]valid[/]: {escape(result.label)}{extra}")
            else:
                console.print(
                    f"[red]invalid[/]: {escape(result.label)} ({plural(result.errors, 'error')})"
                )
        console.print(summary_line((r.report.ok, r.errors, r.warnings) for r in results))
    return 0 if all(r.report.ok for r in results) else 2

"""One-shot health check of a Flowwright installation.

Checks what exists today: the Python version, pinned packages, settings, a writable workspace,
the built-in tool catalog (every DESIGN §3 name), the exported spec schema, and that every
example validates. Prints a table and exits 1 when any check fails.

    .venv/bin/python verify_system.py
"""

from __future__ import annotations

import json
import re
import sys
import uuid
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent
MIN_PYTHON = (3, 11)  # pyproject: requires-python >= 3.11

# DESIGN §3: the built-in tool names are a contract.
DESIGN_TOOLS = (
    "extract_emails", "extract_urls", "extract_phone_numbers", "regex_extract", "summarize_text",
    "classify_text", "analyze_sentiment", "translate_text", "render_template", "current_time",
    "read_csv", "write_csv", "read_json", "write_json", "read_file", "write_file", "filter_rows",
    "sort_rows", "dedupe_rows", "select_fields", "aggregate_rows", "join_rows", "json_query",
    "validate_email", "validate_phone", "parse_url", "dns_lookup", "detect_tech_stack",
    "http_request", "fetch_page", "send_webhook", "send_slack_message", "send_email",
    "sql_query", "sql_insert", "llm_complete",
)  # fmt: skip


class CheckFailed(Exception):
    """A check's failure, with the detail to show."""


def check_python() -> str:
    if sys.version_info[:2] < MIN_PYTHON:
        raise CheckFailed(f"Python {sys.version.split()[0]} < 3.11")
    return f"Python {sys.version.split()[0]}"


def pinned_requirements(path: Path = ROOT / "requirements.txt") -> dict[str, str]:
    """`name==version` lines of requirements.txt (comments and markers ignored)."""
    pins: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^\s]+)", line)
        if match:
            pins[match[1]] = match[3]
    return pins


def check_pins() -> str:
    pins = pinned_requirements()
    problems = []
    for name, wanted in pins.items():
        try:
            found = metadata.version(name)
        except metadata.PackageNotFoundError:
            problems.append(f"{name} missing")
            continue
        if found != wanted:
            problems.append(f"{name} {found} != {wanted}")
    if problems:
        raise CheckFailed("; ".join(problems))
    return f"{len(pins)} pinned packages at their versions"


def check_settings() -> str:
    from app.config import get_settings

    try:
        settings = get_settings()
    except Exception as exc:  # invalid FLOWWRIGHT_* variables
        raise CheckFailed(f"settings do not load: {exc}".splitlines()[0]) from exc
    return f"planner={settings.planner}, workspace={settings.workspace}"


def check_workspace() -> str:
    from app.config import get_settings

    workspace = Path(get_settings().workspace)
    probe = workspace / f".verify-{uuid.uuid4().hex}"
    try:
        workspace.mkdir(parents=True, exist_ok=True)
        probe.write_text("ok", encoding="utf-8")
        probe.unlink()
    except OSError as exc:
        raise CheckFailed(f"{workspace} is not writable: {exc}") from exc
    return f"{workspace.resolve()} writable"


def check_catalog() -> str:
    from app.tools.registry import Catalog

    catalog = Catalog.builtin()
    missing = [name for name in DESIGN_TOOLS if name not in catalog]
    if missing:
        raise CheckFailed("missing tools: " + ", ".join(missing))
    for info in catalog.infos():  # every tool's facts must be readable
        json.dumps(info.input_schema)
        json.dumps(info.output_schema)
    return f"{len(catalog)} tools, all {len(DESIGN_TOOLS)} DESIGN §3 names present"


def check_schema() -> str:
    from app.workflow.spec import SCHEMA_ID, json_schema

    schema = json.loads(json.dumps(json_schema()))
    if schema.get("$id") != SCHEMA_ID or "steps" not in schema.get("properties", {}):
        raise CheckFailed("exported schema lacks $id or steps")
    return f"{SCHEMA_ID} exports"


def check_examples() -> str:
    from app.tools.registry import Catalog
    from app.workflow.validator import validate_file

    paths = sorted((ROOT / "examples").glob("*.yaml"))
    if not paths:
        raise CheckFailed("no examples/*.yaml")
    catalog = Catalog.builtin()
    failed = []
    for path in paths:
        report = validate_file(path, catalog)
        if not report.ok:
            codes = sorted({d.code for d in report.diagnostics if d.severity == "error"})
            failed.append(f"{path.name} ({', '.join(codes)})")
    if failed:
        raise CheckFailed("invalid: " + "; ".join(failed))
    return f"{len(paths)} examples valid"


CHECKS: list[tuple[str, Callable[[], str]]] = [
    ("python", check_python),
    ("pinned packages", check_pins),
    ("settings", check_settings),
    ("workspace", check_workspace),
    ("tool catalog", check_catalog),
    ("spec schema", check_schema),
    ("examples", check_examples),
]


def run_checks() -> list[tuple[str, bool, str]]:
    """(check, passed, detail) for every check; one failing never stops the others."""
    results = []
    for name, check in CHECKS:
        try:
            results.append((name, True, check()))
        except CheckFailed as exc:
            results.append((name, False, str(exc)))
        except Exception as exc:  # an unexpected failure is still a failed check, shown
            results.append((name, False, f"{type(exc).__name__}: {exc}"))
    return results


def main() -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    results = run_checks()
    table = Table(title="Flowwright system check", title_justify="left")
    table.add_column("check")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    for name, passed, detail in results:
        table.add_row(name, "[green]ok[/]" if passed else "[red]FAIL[/]", escape(detail))
    Console().print(table)
    failures = sum(1 for _, passed, _ in results if not passed)
    Console().print(f"{failures} of {len(results)} checks failed" if failures else "all checks ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""One-shot health check of a Flowwright installation.

Checks the Python version, pinned packages, settings, a writable workspace, the built-in tool
catalog (every DESIGN §3 name), the exported spec schema, that every example validates, the
state database (reachable, migrations at head), the artifact templates, one real offline
generation, the metrics registry and, when configured, Redis and LangSmith. Prints a table and
exits 1 when any check fails; a check whose prerequisite failed is shown as skipped.

    .venv/bin/python verify_system.py            # report only
    .venv/bin/python verify_system.py --migrate  # also upgrade a database that is behind

An *empty* database (a fresh install) is brought to head either way, exactly as the API and CLI
do on first use; a database at an older revision holds data, so it is only reported unless
`--migrate` is given (the app would upgrade it too, but an operator should decide when).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
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


class CheckSkipped(Exception):
    """A check that does not apply (not configured, or its prerequisite failed)."""


DB_TIMEOUT_S = 10.0
LANGSMITH_TIMEOUT_S = 5.0
MIGRATE = False  # set by --migrate
FAILED: set[str] = set()  # names of failed checks, for prerequisites


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


def _database_probe(url: str) -> str:
    from sqlalchemy import text

    from app.db.base import engine_for
    from app.db.migrate import current_revision, head_revision, upgrade

    with engine_for(url).connect() as conn:
        conn.execute(text("SELECT 1"))
    current, head = current_revision(url), head_revision()
    if current == head:
        return f"revision {current} (head)"
    if current is None:
        upgrade(url)  # an empty database: what the app does on first use, nothing to lose
        return f"empty database migrated to head {head}"
    if not MIGRATE:
        raise CheckFailed(
            f"at revision {current}, head is {head}: run `python verify_system.py --migrate`"
        )
    upgrade(url)
    return f"migrated {current} -> {head}"


def check_database() -> str:
    from app.config import get_settings
    from app.db.migrate import safe_url
    from app.observability.health import run_check

    url = get_settings().resolved_database_url
    # Bounded: a host that drops packets must not hang the check for the TCP timeout.
    result = run_check("database", lambda: _database_probe(url), DB_TIMEOUT_S)
    if not result["ok"]:
        detail = (result["detail"] or "failed").removeprefix("CheckFailed: ")
        raise CheckFailed(f"{safe_url(url)}: {detail}")
    return f"{safe_url(url)}: {result['detail']}"


def check_templates() -> str:
    from app.observability.health import check_templates as probe

    result = probe()
    if not result["ok"]:
        raise CheckFailed(result["detail"] or "templates do not parse")
    return result["detail"] or "ok"


def check_generate() -> str:
    """A real offline generation (rules planner, artifacts written and checked, no test run)."""
    if "database" in FAILED:
        raise CheckSkipped("skipped: the database check failed")
    from agents.service import smoke_generate

    with tempfile.TemporaryDirectory(prefix="flowwright-verify-") as tmp:
        result = smoke_generate(tmp)
    if not result.ok:
        error = result.error or {}
        raise CheckFailed(f"{result.status}: {error.get('code')}: {error.get('message')}")
    failed = [c.name for c in result.checks if not c.ok]
    if failed:
        raise CheckFailed("artifact checks failed: " + ", ".join(failed))
    return f"{len(result.artifacts)} artifacts, {len(result.checks)} checks passed"


def check_metrics() -> str:
    from prometheus_client.parser import text_string_to_metric_families

    from app.observability.metrics import ALL_METRICS, render_metrics

    body, _ = render_metrics()
    names = {family.name for family in text_string_to_metric_families(body.decode())}
    missing = [m._name for m in ALL_METRICS if m._name not in names]
    if missing:
        raise CheckFailed("not exported: " + ", ".join(missing))
    return f"{len(ALL_METRICS)} Flowwright metrics render"


def check_redis() -> str:
    from app.config import get_settings
    from app.observability.health import check_redis as probe

    if not get_settings().redis_url:
        raise CheckSkipped("not configured (FLOWWRIGHT_REDIS_URL)")
    result = probe()
    assert result is not None
    if not result["ok"]:
        raise CheckFailed(result["detail"] or "PING failed")
    return f"PING answered in {result['latency_ms']:.0f} ms"


def check_langsmith() -> str:
    import httpx

    from app.observability.redaction import redact_text
    from app.observability.tracing import langsmith_enabled

    if not langsmith_enabled():
        raise CheckSkipped("tracing off (LANGSMITH_TRACING)")
    endpoint = os.environ.get("LANGSMITH_ENDPOINT") or "https://api.smith.langchain.com"
    url = endpoint.rstrip("/") + "/info"
    try:
        response = httpx.get(url, timeout=LANGSMITH_TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise CheckFailed(f"{redact_text(url)}: {type(exc).__name__}: {exc}") from exc
    if response.status_code != 200:
        raise CheckFailed(f"{redact_text(url)} answered HTTP {response.status_code}")
    return f"{redact_text(endpoint)} reachable"


CHECKS: list[tuple[str, Callable[[], str]]] = [
    ("python", check_python),
    ("pinned packages", check_pins),
    ("settings", check_settings),
    ("workspace", check_workspace),
    ("tool catalog", check_catalog),
    ("spec schema", check_schema),
    ("examples", check_examples),
    ("database", check_database),
    ("templates", check_templates),
    ("generate", check_generate),
    ("metrics", check_metrics),
    ("redis", check_redis),
    ("langsmith", check_langsmith),
]


def run_checks() -> list[tuple[str, bool | None, str]]:
    """(check, passed, detail) for every check (passed None: skipped); one failing never stops
    the others, but a check may skip itself when a prerequisite failed."""
    results: list[tuple[str, bool | None, str]] = []
    for name, check in CHECKS:
        try:
            results.append((name, True, check()))
        except CheckSkipped as exc:
            results.append((name, None, str(exc)))
        except CheckFailed as exc:
            results.append((name, False, str(exc)))
        except Exception as exc:  # an unexpected failure is still a failed check, shown
            first = (str(exc).strip().splitlines() or [""])[0]
            results.append((name, False, f"{type(exc).__name__}: {first}"))
        if results[-1][1] is False:
            FAILED.add(name)
    return results


def main(argv: list[str] | None = None) -> int:
    global MIGRATE
    parser = argparse.ArgumentParser(description="Check a Flowwright installation.")
    parser.add_argument(
        "--migrate", action="store_true", help="Upgrade a database that is behind the newest one."
    )
    MIGRATE = parser.parse_args(argv).migrate

    import logging

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    # The table is the report: library chatter (alembic, a trace store warning) is noise here.
    logging.disable(logging.WARNING)
    results = run_checks()
    table = Table(title="Flowwright system check", title_justify="left")
    table.add_column("check")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    marks = {True: "[green]ok[/]", False: "[red]FAIL[/]", None: "[dim]skip[/]"}
    for name, passed, detail in results:
        table.add_row(name, marks[passed], escape(detail))
    Console().print(table)
    failures = sum(1 for _, passed, _ in results if passed is False)
    Console().print(f"{failures} of {len(results)} checks failed" if failures else "all checks ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

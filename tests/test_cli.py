"""The `flowwright` CLI end to end: commands, output formats and exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from app.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
runner = CliRunner()

BAD_SPEC = """\
flowwright: "1"
name: bad-lead
inputs:
  email: {type: string, example: ada@example.com}
steps:
  - id: check
    tool: validate_emial
    params:
      email: "{{ inputs.email }}"
"""

GOOD_SPEC = """\
flowwright: "1"
name: good-lead
inputs:
  email: {type: string, example: ada@example.com}
steps:
  - id: check
    tool: validate_email
    params:
      email: "{{ inputs.email }}"
  - id: domain
    tool: parse_url
    params:
      url: "https://{{ steps.check.output.domain }}/"
outputs:
  valid: "{{ steps.check.output.valid }}"
"""


def invoke(*args: str, stdin: str | None = None):
    return runner.invoke(app, list(args), input=stdin)


@pytest.fixture
def bad_file(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_SPEC, encoding="utf-8")
    return path


@pytest.fixture
def good_file(tmp_path: Path) -> Path:
    path = tmp_path / "good.yaml"
    path.write_text(GOOD_SPEC, encoding="utf-8")
    return path


def test_version_and_help() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip().startswith("flowwright 0.")
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("validate", "describe", "tools", "spec"):
        assert command in result.stdout


# --- tools ----------------------------------------------------------------------------------


def test_tools_list_table_shows_every_builtin_tool() -> None:
    from app.tools.registry import Catalog

    result = invoke("tools", "list")
    assert result.exit_code == 0, result.output
    for name in Catalog.builtin().names():
        assert name in result.stdout
    assert "email*" in result.stdout  # required params are marked


def test_tools_list_json_is_an_array_of_tool_infos() -> None:
    result = invoke("tools", "list", "--json")
    assert result.exit_code == 0
    tools = json.loads(result.stdout)
    by_name = {t["name"]: t for t in tools}
    email = by_name["validate_email"]
    assert email["side_effect"] == "pure"
    assert "email" in email["input_schema"]["properties"]
    assert set(email) >= {"description", "category", "output_schema", "requires", "example"}


def test_tools_list_category_filter_and_unknown_category() -> None:
    tools = json.loads(invoke("tools", "list", "--json").stdout)
    category = tools[0]["category"]
    filtered = json.loads(invoke("tools", "list", "--category", category, "--json").stdout)
    assert filtered and {t["category"] for t in filtered} == {category}
    assert len(filtered) < len(tools)
    result = invoke("tools", "list", "--category", "no-such-category")
    assert result.exit_code == 2
    assert "error[CATEGORY_UNKNOWN]" in result.stderr


def test_tools_show_describes_params_output_and_example() -> None:
    result = invoke("tools", "show", "write_csv")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in ("Parameters", "path", "rows", "append", "Output:", "Side effect: writes",
                 "Example step:", "tool: write_csv"):  # fmt: skip
        assert text in out


def test_tools_show_json_example_step_is_a_valid_workflow_step() -> None:
    from app.tools.registry import Catalog
    from app.workflow.validator import validate_text

    data = json.loads(invoke("tools", "show", "validate_email", "--json").stdout)
    assert data["name"] == "validate_email"
    assert any(p["name"] == "email" and p["required"] for p in data["params"])
    step = yaml.safe_load(data["example_step"])
    assert step[0]["tool"] == "validate_email"
    spec = {"flowwright": "1", "name": "example", "steps": step}
    report = validate_text(json.dumps(spec), Catalog.builtin(), fmt="json")
    assert report.ok, report.diagnostics


def test_tools_show_reports_requirements() -> None:
    data = json.loads(invoke("tools", "show", "send_email", "--json").stdout)
    assert [r["name"] for r in data["requirements"]] == ["smtp"]
    assert data["requirements"][0]["env"] == "FLOWWRIGHT_SMTP_HOST"


def test_tools_show_unknown_name_suggests_and_exits_2() -> None:
    result = invoke("tools", "show", "validate_emial")
    assert result.exit_code == 2
    assert "error[TOOL_UNKNOWN]" in result.stderr
    assert "validate_email" in result.stderr
    assert "Traceback" not in result.output


# --- validate -------------------------------------------------------------------------------


def test_validate_examples_exit_0_with_summary() -> None:
    result = invoke("validate", *map(str, EXAMPLES))
    assert result.exit_code == 0, result.output
    n = len(EXAMPLES)
    assert re.search(rf"^{n} files: {n} valid, 0 invalid \(0 errors, \d+ warnings?\)$",
                     result.stdout, re.M)  # fmt: skip


def test_validate_prints_compiler_style_diagnostics(bad_file: Path) -> None:
    result = invoke("validate", str(bad_file))
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    head = next(i for i, line in enumerate(lines) if "error[TOOL_UNKNOWN]" in line)
    match = re.match(rf"^{re.escape(str(bad_file))}:(\d+):(\d+): error\[TOOL_UNKNOWN\]: ",
                     lines[head])  # fmt: skip
    assert match, lines[head]
    line_no, column = int(match[1]), int(match[2])
    assert "validate_emial" in BAD_SPEC.splitlines()[line_no - 1]
    assert lines[head + 1] == f" {line_no} | " + BAD_SPEC.splitlines()[line_no - 1]
    caret = lines[head + 2]
    assert caret.index("^") == len(f" {line_no} | ") + column - 1
    hint = next(line for line in lines[head:] if line.startswith("  = hint:"))
    assert "validate_email" in hint
    assert "1 file: 0 valid, 1 invalid (1 error" in result.stdout


def test_validate_mixed_files_exit_2_and_counts(bad_file: Path, good_file: Path) -> None:
    result = invoke("validate", str(good_file), str(bad_file))
    assert result.exit_code == 2
    assert "2 files: 1 valid, 1 invalid" in result.stdout


def test_validate_reads_stdin() -> None:
    ok = invoke("validate", "-", stdin=GOOD_SPEC)
    assert ok.exit_code == 0, ok.output
    bad = invoke("validate", "-", stdin=BAD_SPEC)
    assert bad.exit_code == 2
    assert re.search(r"^<stdin>:\d+:\d+: error\[TOOL_UNKNOWN\]", bad.stdout, re.M)


def test_validate_json(bad_file: Path, good_file: Path) -> None:
    result = invoke("validate", "--json", str(good_file), str(bad_file))
    assert result.exit_code == 2
    reports = json.loads(result.stdout)
    assert [r["source"] for r in reports] == [str(good_file), str(bad_file)]
    assert [r["ok"] for r in reports] == [True, False]
    diag = next(d for d in reports[1]["diagnostics"] if d["code"] == "TOOL_UNKNOWN")
    assert diag["severity"] == "error"
    assert diag["path"] == "/steps/0/tool"
    assert isinstance(diag["line"], int)


def test_validate_missing_file_is_a_clean_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = invoke("validate", str(missing))
    assert result.exit_code == 2
    assert "nope.yaml" in result.output
    assert "error" in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


# --- describe -------------------------------------------------------------------------------


def test_describe_shows_steps_and_dry_run(good_file: Path) -> None:
    result = invoke("describe", str(good_file))
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in ("good-lead", "Inputs", "ada@example.com", "check", "parse_url", "Outputs",
                 "Dry run", "executes: check, domain"):  # fmt: skip
        assert text in out


def test_describe_json_orders_steps_and_stages() -> None:
    result = invoke("describe", "--json", str(ROOT / "examples" / "contact_extraction.yaml"))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    steps = {s["id"]: s for s in data["steps"]}
    assert [s["order"] for s in data["steps"]] == list(range(1, len(steps) + 1))
    # three extractions of the same text are one concurrent stage after the read
    assert steps["read"]["stage"] == 1
    assert steps["emails"]["stage"] == steps["phones"]["stage"] == steps["links"]["stage"] == 2
    assert steps["check_emails"]["depends_on"] == ["emails"]
    assert steps["check_emails"]["for_each"] == "{{ steps.emails.output }}"
    assert "save" in data["dry_run"]["simulated"]
    assert "read" in data["dry_run"]["executed"]


def test_describe_reports_approval_and_simulated_network_steps() -> None:
    data = json.loads(
        invoke("describe", "--json", str(ROOT / "examples" / "site_monitor.yaml")).stdout
    )
    assert data["approval_required"] == ["alert"]
    assert {"page", "alert"} <= set(data["dry_run"]["simulated"])


def test_describe_invalid_file_prints_diagnostics_and_exits_2(bad_file: Path) -> None:
    result = invoke("describe", str(bad_file))
    assert result.exit_code == 2
    assert "error[TOOL_UNKNOWN]" in result.stdout


# --- spec schema and the console-script entry -----------------------------------------------


def test_spec_schema_matches_json_schema(tmp_path: Path) -> None:
    from app.workflow.spec import json_schema

    result = invoke("spec", "schema")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == json_schema()
    target = tmp_path / "schema" / "workflow-v1.json"
    result = invoke("spec", "schema", "--out", str(target))
    assert result.exit_code == 0
    assert json.loads(target.read_text(encoding="utf-8")) == json_schema()


def _console(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "app.cli.main", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_console_entry_prints_user_errors_without_traceback() -> None:
    result = _console("tools", "show", "sned_email")
    assert result.returncode == 2
    assert result.stderr.startswith("error[TOOL_UNKNOWN]: unknown tool 'sned_email'")
    assert "hint:" in result.stderr and "send_email" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_configuration_is_a_user_error() -> None:
    result = _console("validate", "-", env={"FLOWWRIGHT_SMTP_PORT": "not-a-number"})
    assert result.returncode == 2
    assert "error[CONFIG_INVALID]" in result.stderr
    assert "FLOWWRIGHT_SMTP_PORT" in result.stderr
    assert "Traceback" not in result.stderr

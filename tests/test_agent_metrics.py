"""A real offline generation moves the agent metrics and is stored as one trace (CLI-visible)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agents.service import generate_workflow
from app.config import get_settings
from app.db import migrate
from app.db.base import engine_for
from app.observability.traces import get_trace
from tests.test_metrics import value

REQUEST = "Validate the email address ada@example.com."


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    url = f"sqlite:///{tmp_path / 'home' / 'flowwright.db'}"
    monkeypatch.setenv("FLOWWRIGHT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FLOWWRIGHT_DATABASE_URL", url)
    monkeypatch.setenv("FLOWWRIGHT_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.delenv("FLOWWRIGHT_LLM_MODEL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    engine_for(url).dispose()
    migrate.forget_ensured(url)
    get_settings.cache_clear()


def test_generation_moves_node_plan_and_artifact_metrics(home: Path) -> None:
    nodes = ("planner", "validator", "tool_runner", "generator")
    before = {
        n: value("flowwright_agent_node_executions_total", node=n, status="ok") for n in nodes
    }
    durations = value("flowwright_agent_node_duration_seconds_count", node="planner")
    plans = value("flowwright_planner_plans_total", planner="rules")
    valid = value("flowwright_planner_valid_plans_total", planner="rules")
    latency = value("flowwright_planner_latency_seconds_count", planner="rules")
    artifacts = value("flowwright_artifacts_generated_total", kind="workflow")

    result = generate_workflow(REQUEST, out_dir=home / "out", run_tests=False)
    assert result.ok, result.error

    after = {n: value("flowwright_agent_node_executions_total", node=n, status="ok") for n in nodes}
    assert after["planner"] == before["planner"] + 1
    assert after["validator"] == before["validator"] + 2  # plan, then artifacts
    assert after["tool_runner"] == before["tool_runner"] + 1
    assert after["generator"] == before["generator"] + 1
    assert value("flowwright_agent_node_duration_seconds_count", node="planner") == durations + 1
    assert value("flowwright_planner_plans_total", planner="rules") == plans + 1
    assert value("flowwright_planner_valid_plans_total", planner="rules") == valid + 1
    assert value("flowwright_planner_latency_seconds_count", planner="rules") == latency + 1
    assert value("flowwright_artifacts_generated_total", kind="workflow") == artifacts + len(
        result.artifacts
    )


def test_invalid_plan_and_node_error_are_counted(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agents.nodes.generator as generator_mod

    errors = value("flowwright_agent_node_errors_total", node="generator")

    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("renderer exploded")

    monkeypatch.setattr("agents.artifacts.render_artifacts", broken)
    assert generator_mod  # the node imports render_artifacts at call time
    result = generate_workflow(REQUEST, out_dir=home / "out", run_tests=False)
    assert result.status == "interrupted"  # a crashed node: resumable
    assert value("flowwright_agent_node_errors_total", node="generator") == errors + 1


def test_generation_trace_is_stored_and_shown_by_the_cli(home: Path) -> None:
    result = generate_workflow(REQUEST, out_dir=home / "out", run_tests=False)
    assert result.ok and result.trace_id
    tree = get_trace(result.trace_id)
    assert tree.job_id == result.job_id and tree.root.name == "flowwright.generate"
    names = [child.name for child in tree.root.children]
    assert names[:3] == ["planner", "validator", "tool_runner"] and "generator" in names
    tool_runner = next(c for c in tree.root.children if c.name == "tool_runner")
    # The dry run's workflow is nested in the generation trace, not stored as a second trace,
    # and recorded by the engine: one run per step, named with its tool.
    (dry_run,) = [c for c in tool_runner.children if c.name.startswith("workflow:")]
    assert dry_run.parent_run_id == tool_runner.id and dry_run.status == "success"
    assert [(s.run_type, s.metadata["tool"]) for s in dry_run.children] == [
        ("tool", "validate_email")
    ]
    assert dry_run.children[0].inputs == {"email": "ada@example.com"}
    assert dry_run.children[0].metadata["job_id"] == result.job_id  # inherited from the root

    from app.cli.main import app

    shown = CliRunner().invoke(app, ["traces", "show", result.trace_id])
    assert shown.exit_code == 0, shown.output
    for expected in ("flowwright.generate", "planner", "validator", "tool_runner", "generator"):
        assert expected in shown.stdout
    assert "validate_email" in shown.stdout
    listed = CliRunner().invoke(app, ["traces", "list", "--job", result.job_id, "--json"])
    (summary,) = json.loads(listed.stdout)
    assert summary["trace_id"] == result.trace_id and summary["runs"] == tree.runs

    def count(node: Any) -> int:
        return 1 + sum(count(child) for child in node.children)

    assert tree.runs == count(tree.root)


def test_workflow_run_trace_is_shown_by_the_cli(home: Path) -> None:
    """`flowwright run` records a trace of the run (engine wiring) that `traces show` prints."""
    from app.cli.main import app

    spec = home / "wf.yaml"
    spec.write_text(
        "flowwright: '1'\nname: traced-cli\ninputs:\n  email: {type: string, required: true}\n"
        "steps:\n  - {id: check, tool: validate_email, params: {email: '{{ inputs.email }}'}}\n",
        encoding="utf-8",
    )
    cli = CliRunner()
    ran = cli.invoke(app, ["run", str(spec), "--input", "email=ada@example.com", "--json"])
    assert ran.exit_code == 0, ran.output
    run_id = json.loads(ran.stdout)["run_id"]
    listed = cli.invoke(app, ["traces", "list", "--run", run_id, "--json"])
    (trace,) = json.loads(listed.stdout)
    shown = cli.invoke(app, ["traces", "show", trace["trace_id"]])
    assert shown.exit_code == 0, shown.output
    assert "workflow:traced-cli" in shown.stdout and "check (validate_email)" in shown.stdout

"""Acceptance: every dev-set request generates artifacts whose checks pass, including the
generated tests (all of them in ONE pytest subprocess, to keep time down)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from agents.artifacts import check_env, pytest_command
from agents.planner import plan
from agents.service import generate_workflow
from app.config import get_settings
from app.tools.registry import Catalog

DEVSET = Path(__file__).resolve().parents[2] / "shared" / "eval" / "builtin_dev.jsonl"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not DEVSET.is_file(), reason="dev set not found"),
]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Generate every plannable dev-set request once (checks without the test run)."""
    root = tmp_path_factory.mktemp("devset")
    env = pytest.MonkeyPatch()
    env.setenv("FLOWWRIGHT_HOME", str(root / ".flowwright"))
    env.setenv("FLOWWRIGHT_WORKSPACE", str(root / "workspace"))
    env.delenv("FLOWWRIGHT_LLM_MODEL", raising=False)
    get_settings.cache_clear()
    records = [json.loads(line) for line in DEVSET.read_text().splitlines() if line.strip()]
    catalog = Catalog.builtin()
    results, unplannable = {}, []
    try:
        for record in records:
            if plan(record["user_request"], catalog).spec is None:
                unplannable.append(record["id"])
                continue
            results[record["id"]] = generate_workflow(
                record["user_request"], out_dir=root / record["id"], run_tests=False
            )
    finally:
        env.undo()
        get_settings.cache_clear()
    return {"root": root, "results": results, "unplannable": unplannable, "total": len(records)}


def test_every_devset_request_is_planned(generated: dict[str, Any]) -> None:
    assert generated["total"] == 36
    assert generated["unplannable"] == []


def _succeeded(generated: dict[str, Any]) -> dict[str, Any]:
    return {rid: r for rid, r in generated["results"].items() if r.status == "succeeded"}


def test_every_generation_succeeds_with_checks(generated: dict[str, Any]) -> None:
    failures = {
        rid: (r.error, [c for c in r.checks if not c.ok])
        for rid, r in generated["results"].items()
        if r.status != "succeeded"
    }
    assert not failures
    for result in _succeeded(generated).values():
        assert {c.name for c in result.checks if c.ok and not c.skipped} == {
            "compile",
            "ruff",
            "import",
        }
        assert set(result.artifacts) == {
            "workflow.yaml",
            "graph.py",
            "langgraph.json",
            "test_workflow.py",
            "diagram.mmd",
            "README.md",
        }


def test_generated_tests_pass_in_one_run(generated: dict[str, Any]) -> None:
    root: Path = generated["root"]
    targets = [str(root / rid / "test_workflow.py") for rid in _succeeded(generated)]
    done = subprocess.run(
        [*pytest_command(*targets), "-x", "--timeout=600", "-p", "no:randomly"],
        cwd=root,
        env=check_env(root),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "failed" not in summary and "error" not in summary, summary
    print(summary)

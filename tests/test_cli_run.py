"""`flowwright run` and `flowwright runs ...` as a user drives them, through the real CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOLS = str(ROOT / "tests" / "engine_tools.py")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    return {
        **os.environ,
        "FLOWWRIGHT_HOME": str(tmp_path / "home"),
        "FLOWWRIGHT_WORKSPACE": str(workspace),
        "FLOWWRIGHT_DATABASE_URL": f"sqlite:///{tmp_path / 'home' / 'state.db'}",
        "COLUMNS": "200",
    }


def flowwright(
    env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_dry_run_of_an_example_reports_simulated_steps(env: dict[str, str]) -> None:
    env = {**env, "FLOWWRIGHT_WORKSPACE": str(ROOT / "examples" / "workspace")}
    done = flowwright(
        env, "run", "examples/lead_intake.yaml", "--dry-run", "--example-inputs", "--json"
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "succeeded" and result["dry_run"] is True
    assert result["simulated_steps"] == ["store"]
    assert result["outputs"]["email_valid"] is True


def test_bad_inputs_exit_2_with_a_clear_error(env: dict[str, str], tmp_path: Path) -> None:
    done = flowwright(env, "run", "examples/lead_intake.yaml")
    assert done.returncode == 2
    assert "error[INPUT_INVALID]: missing required input(s): name, email" in done.stderr
    assert "Traceback" not in done.stderr
    bad = write(tmp_path / "inputs.json", "{not json")
    done = flowwright(env, "run", "examples/lead_intake.yaml", "--inputs-file", bad)
    assert done.returncode == 2 and "error[INPUTS_INVALID]" in done.stderr
    done = flowwright(env, "run", "examples/lead_intake.yaml", "--input", "novalue")
    assert done.returncode == 2 and "is not NAME=VALUE" in done.stderr


def test_invalid_spec_exits_2_with_diagnostics(env: dict[str, str], tmp_path: Path) -> None:
    spec = write(
        tmp_path / "bad.yaml", 'flowwright: "1"\nname: bad\nsteps:\n  - {id: a, tool: nope}\n'
    )
    done = flowwright(env, "run", spec)
    assert done.returncode == 2
    assert "error[TOOL_UNKNOWN]" in done.stdout


def test_failed_run_exits_1_and_is_recorded(env: dict[str, str], tmp_path: Path) -> None:
    spec = write(
        tmp_path / "fail.yaml",
        'flowwright: "1"\nname: fails\nsteps:\n  - {id: r, tool: read_file, params: {path: missing.txt}}\n',
    )
    done = flowwright(env, "run", spec, "--json")
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert result["status"] == "failed"
    assert result["error"]["code"] == "TOOL_INPUT"
    listed = json.loads(flowwright(env, "runs", "list", "--json").stdout)
    assert [(r["id"], r["status"]) for r in listed] == [(result["run_id"], "failed")]


APPROVAL = """
flowwright: "1"
name: publish
inputs: {text: {type: string}}
steps:
  - id: save
    tool: write_file
    approval: true
    params: {path: out.txt, content: "{{ inputs.text }}"}
outputs: {bytes: "{{ steps.save.output.bytes }}"}
"""


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_approval_pauses_and_runs_approve_or_reject_continues(
    env: dict[str, str], tmp_path: Path, decision: str
) -> None:
    spec = write(tmp_path / "publish.yaml", APPROVAL)
    started = json.loads(flowwright(env, "run", spec, "-i", "text=hello", "--json").stdout)
    assert started["status"] == "waiting_approval" and started["waiting_for"] == "save"
    target = Path(env["FLOWWRIGHT_WORKSPACE"]) / "out.txt"
    assert not target.exists()
    args = ["runs", decision, started["run_id"], "--json"]
    done = flowwright(env, *args, *(["--reason", "not today"] if decision == "reject" else []))
    result = json.loads(done.stdout)
    shown = json.loads(flowwright(env, "runs", "show", started["run_id"], "--json").stdout)
    if decision == "approve":
        assert done.returncode == 0 and result["status"] == "succeeded"
        assert target.read_text() == "hello" and result["outputs"] == {"bytes": 5}
    else:
        assert done.returncode == 1 and result["status"] == "rejected"
        assert not target.exists()
    assert shown["status"] == result["status"]
    again = flowwright(env, "runs", "approve", started["run_id"])
    assert again.returncode == 2 and "not waiting for approval" in again.stderr


def test_unknown_run_id_is_a_clear_error(env: dict[str, str]) -> None:
    done = flowwright(env, "runs", "show", "nope")
    assert done.returncode == 2 and "error[RUN_NOT_FOUND]" in done.stderr


CRASHY = """
flowwright: "1"
name: crashy
steps:
  - {id: one, tool: nap, params: {label: one}}
  - {id: two, tool: wait_for_file, params: {path: "RELEASE", label: two}, depends_on: [one]}
  - {id: three, tool: nap, params: {label: three}, depends_on: [two]}
outputs: {last: "{{ steps.three.output.label }}"}
"""


def test_killed_cli_run_resumes_with_runs_resume(env: dict[str, str], tmp_path: Path) -> None:
    release = tmp_path / "release"
    spec = write(tmp_path / "crashy.yaml", CRASHY.replace("RELEASE", str(release)))
    log = tmp_path / "calls.log"
    env = {**env, "ENGINE_TEST_LOG": str(log)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "run", spec, "--module", TOOLS, "--json"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while "started:two" not in (log.read_text() if log.exists() else ""):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    [run] = json.loads(flowwright(env, "runs", "list", "--json").stdout)
    assert run["status"] == "running"
    release.touch()
    done = flowwright(env, "runs", "resume", run["id"], "--module", TOOLS, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outputs"] == {"last": "three"}
    assert log.read_text().splitlines().count("one") == 1
    finished = flowwright(env, "runs", "resume", run["id"], "--module", TOOLS)
    assert finished.returncode == 2 and "only running (interrupted) runs resume" in finished.stderr


def test_prune_removes_old_finished_runs(env: dict[str, str], tmp_path: Path) -> None:
    spec = write(
        tmp_path / "ok.yaml", 'flowwright: "1"\nname: ok\nsteps:\n  - {id: t, tool: current_time}\n'
    )
    assert flowwright(env, "run", spec).returncode == 0
    kept = json.loads(flowwright(env, "runs", "prune", "--json").stdout)
    assert kept["runs"] == 0
    assert len(json.loads(flowwright(env, "runs", "list", "--json").stdout)) == 1


def test_batch_records_per_row_errors_and_resumes(env: dict[str, str], tmp_path: Path) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text("name,email\nAda,ada@example.com\nbroken\nBob,bob@example.org\n")
    results = tmp_path / "results.jsonl"
    args = ["run", "examples/lead_intake.yaml", "--batch", str(rows), "--dry-run",
            "--output", str(results), "--json"]  # fmt: skip
    done = flowwright(env, *args)
    assert done.returncode == 1, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["succeeded"], summary["failed"]) == (2, 1)
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    failed = [r for r in lines if r["status"] == "failed"]
    assert [(r["row"], r["error"]["code"]) for r in failed] == [(2, "ROW_MALFORMED")]
    again = json.loads(flowwright(env, *args).stdout)
    assert again["skipped_already_done"] == 3 and again["succeeded"] == 0


def test_ctrl_c_says_how_to_resume_and_the_run_resumes(env: dict[str, str], tmp_path: Path) -> None:
    release = tmp_path / "release"
    spec = write(tmp_path / "crashy.yaml", CRASHY.replace("RELEASE", str(release)))
    log = tmp_path / "calls.log"
    env = {**env, "ENGINE_TEST_LOG": str(log)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "run", spec, "--module", TOOLS],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # A suite started in the background by a shell inherits SIGINT ignored, and so would
        # the CLI: Ctrl-C must reach it as it does in a terminal.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while "started:two" not in (log.read_text() if log.exists() else ""):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    # Give the CLI time to take the signal before the blocked step can finish: released at once,
    # a loaded machine could finish the run first (and rightly exit 0). The step's thread must
    # end for the process to exit; the run must still be resumable.
    time.sleep(1.0)
    release.touch()
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "Traceback" not in stderr
    [run] = json.loads(flowwright(env, "runs", "list", "--json").stdout)
    assert f"flowwright runs resume {run['id']}" in stderr
    done = flowwright(env, "runs", "resume", run["id"], "--module", TOOLS, "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["outputs"] == {"last": "three"}

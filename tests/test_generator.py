"""Artifact rendering: safe values, atomic writes, generated program behaviour, checks."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from agents.artifacts import (
    RenderError,
    check_env,
    render_artifacts,
    run_checks,
    write_artifacts,
)
from app.config import get_settings
from app.tools.registry import Catalog
from app.workflow.spec import WorkflowSpec

EVIL = "x'''\"\"\"\n__import__('os').system('echo pwned')  # <b> {% raw %}"
SPEC = {
    "flowwright": "1",
    "name": "evil-names",
    "description": EVIL,
    "inputs": {"text": {"type": "string", "description": EVIL}},
    "steps": [
        {"id": "emails", "tool": "extract_emails", "description": EVIL,
         "params": {"text": "{{ inputs.text }} " + EVIL.replace("{%", "")}},
        {"id": "each", "tool": "validate_email", "for_each": "{{ steps.emails.output }}",
         "params": {"email": "{{ item }}"}},
        {"id": "first", "tool": "validate_email", "when": "{{ steps.emails.output | length > 0 }}",
         "params": {"email": "{{ steps.emails.output[0] }}"}},
    ],
    "outputs": {"emails": "{{ steps.emails.output }}", EVIL: "{{ steps.each.output }}"},
}  # fmt: skip


@pytest.fixture(autouse=True)
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("FLOWWRIGHT_WORKSPACE", str(tmp_path / "workspace"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "out"
    spec = WorkflowSpec.model_validate(SPEC)
    write_artifacts(render_artifacts(spec, Catalog.builtin(), request=EVIL), out)
    return out


def test_all_artifacts_are_written(generated: Path) -> None:
    names = {p.name for p in generated.iterdir()}
    assert names == {"workflow.yaml", "graph.py", "langgraph.json", "test_workflow.py",
                     "diagram.mmd", "README.md"}  # fmt: skip
    assert json.loads((generated / "langgraph.json").read_text()) == {
        "dependencies": ["."], "graphs": {"workflow": "./graph.py:graph"}
    }  # fmt: skip
    data = yaml.safe_load((generated / "workflow.yaml").read_text())
    assert data["inputs"]["text"]["example"]  # an example was filled in


def test_hostile_text_never_becomes_code(generated: Path) -> None:
    code = (generated / "graph.py").read_text()
    compile(code, "graph.py", "exec")
    assert "\n__import__('os')" not in code
    for line in code.splitlines():
        if "__import__" in line:
            assert line.lstrip().startswith(("#", "builder.add_node(", "OUTPUTS =")), line


def test_diagram_shows_steps_conditions_and_loops(generated: Path) -> None:
    text = (generated / "diagram.mmd").read_text()
    assert text.splitlines()[1] == "flowchart TD"
    assert 'c_first{"when' in text and "c_first -->|true| s_first" in text
    assert "s_each -->|next item| s_each" in text and "for each" in text
    assert "<b>" not in text and '"""' not in text


def test_graph_program_runs_and_matches_engine(generated: Path, tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "graph.py", "--input", "text=write to ada@example.com or bob@example.org"],
        cwd=generated, env=check_env(generated), capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["outputs"]["emails"] == ["ada@example.com", "bob@example.org"]
    assert result["steps"] == {"emails": "succeeded", "each": "succeeded", "first": "succeeded"}
    bad = subprocess.run(
        [sys.executable, "graph.py", "--input", "nope=1"], cwd=generated,
        env=check_env(generated), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and "unknown input" in bad.stderr


def test_checks_pass_including_the_generated_tests(generated: Path) -> None:
    checks = {c.name: c for c in run_checks(generated)}
    assert all(c.ok for c in checks.values()), {n: c.detail for n, c in checks.items()}
    assert "passed" in checks["test"].detail and not checks["test"].skipped
    assert all(c.duration_ms > 0 for c in checks.values())


def test_checks_catch_broken_code(tmp_path: Path, generated: Path) -> None:
    out = tmp_path / "broken"
    out.mkdir()
    for p in generated.iterdir():
        (out / p.name).write_text(p.read_text())
    (out / "graph.py").write_text("import os\ndef f(:\n")
    checks = {c.name: c for c in run_checks(out, run_tests=False)}
    assert not checks["compile"].ok and not checks["ruff"].ok and not checks["import"].ok
    assert checks["test"].skipped


def test_rendering_failure_writes_nothing(tmp_path: Path) -> None:
    spec = WorkflowSpec.model_validate({**SPEC, "steps": [
        {"id": "class", "tool": "extract_emails", "params": {"text": "x"}}]})  # fmt: skip
    with pytest.raises(RenderError, match="identifier"):
        render_artifacts(spec, Catalog.builtin(), request="r")
    assert list(tmp_path.iterdir()) == [tmp_path / "workspace"] or not list(tmp_path.iterdir())


def test_write_is_atomic_and_replaces_existing_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_artifacts({"a.txt": "1", "b.txt": "2"}, out)
    write_artifacts({"a.txt": "3", "b.txt": "4"}, out)
    assert (out / "a.txt").read_text() == "3"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".flowwright-")]
    (tmp_path / "file").write_text("x")
    with pytest.raises(RenderError):
        write_artifacts({"a.txt": "1"}, tmp_path / "file")


class SlowHandler(BaseHTTPRequestHandler):
    """Answers after ten seconds and counts the requests it received."""

    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        time.sleep(10)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


def test_graph_program_abandons_a_step_after_its_timeout_and_retries(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    spec = WorkflowSpec.model_validate(
        {"flowwright": "1", "name": "slow-call",
         "steps": [{"id": "call", "tool": "http_request", "on_error": "continue",
                    "timeout_s": 0.3, "retry": {"max_attempts": 2, "backoff_s": 0},
                    "params": {"url": f"http://127.0.0.1:{server.server_port}/slow"}}]}
    )  # fmt: skip
    out = tmp_path / "slow"
    write_artifacts(render_artifacts(spec, Catalog.builtin(), request="call a slow API"), out)
    env = {**check_env(out), "FLOWWRIGHT_ALLOW_PRIVATE_NETWORKS": "1",
           "FLOWWRIGHT_HTTP_TIMEOUT_S": "30"}  # fmt: skip
    try:
        started = time.monotonic()
        run = subprocess.run(
            [sys.executable, "graph.py"], cwd=out, env=env, capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip
        elapsed = time.monotonic() - started
    finally:
        server.shutdown()
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["steps"] == {"call": "failed"}
    assert SlowHandler.hits == 2  # the timeout is transient: the retry policy made a 2nd try
    assert elapsed < 10, elapsed  # no attempt waited for the answer (startup included)

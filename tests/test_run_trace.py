"""Engine-native run traces: what `WorkflowRunner` records when LangSmith is off.

The engine records each step and tool attempt itself and a background writer stores the trace,
so tracing neither routes tool calls through LangChain callbacks nor makes the run wait for the
database. These tests read the stored trees back the way users do (`get_trace`, export, CLI).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.tools import StructuredTool
from sqlalchemy import text
from typer.testing import CliRunner

from app.config import get_settings
from app.db.base import engine_for
from app.db.values import capped_json, dump_json, load_json
from app.engine.runner import WorkflowRunner
from app.observability.metrics import REGISTRY
from app.observability.traces import export_trace, get_trace, list_traces
from app.tools import llm
from app.tools.registry import Catalog
from app.workflow.spec import WorkflowSpec
from tests import engine_tools
from tests.trace_helpers import JWT, WORKFLOW


@pytest.fixture(autouse=True)
def no_langsmith(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine records traces itself only when LangSmith is off."""
    for name in ("LANGSMITH_TRACING", "LANGSMITH_TRACING_V2", "LANGCHAIN_TRACING_V2"):
        monkeypatch.delenv(name, raising=False)


def run(spec_text: str, inputs: dict[str, Any], catalog: Catalog | None = None) -> Any:
    engine_tools.reset()
    spec = WorkflowSpec.model_validate(yaml.safe_load(spec_text))
    runner = WorkflowRunner(catalog or engine_tools.catalog(), tracing=True)
    return asyncio.run(runner.run(spec, inputs, run_id=f"run-{uuid.uuid4().hex[:8]}"))


def test_a_run_is_stored_as_steps_with_every_attempt(trace_db: str, tmp_path: Path) -> None:
    result = run(WORKFLOW, {"label": "hello", "api_token": f"Bearer {JWT}"})
    assert result.status == "succeeded" and result.trace_id

    tree = get_trace(result.trace_id)  # readers wait for the background writer
    # The run, 3 steps, and the 2 attempts of the retried step (one-call steps are one run).
    assert tree.run_id == result.run_id and tree.runs == 1 + 3 + 2
    root = tree.root
    assert root.name == "workflow:traced" and root.status == "success"
    assert root.outputs == {"status": "succeeded", "outputs": {"label": "hello"}}
    assert [c.name for c in root.children] == ["first", "retry", "last"]
    first, retry, last = root.children
    assert (first.run_type, first.metadata["tool"], first.children) == ("tool", "nap", [])
    assert first.inputs == {"label": "hello"}
    assert first.outputs["output"] == {"label": "hello", "n": 5}
    assert retry.run_type == "chain" and retry.metadata["tool"] == "flaky"
    attempts = [(c.name, c.run_type, c.status) for c in retry.children]
    assert attempts == [("flaky", "tool", "error"), ("flaky", "tool", "success")]
    assert retry.children[0].error == "upstream returned 503"
    assert retry.children[1].outputs == {"output": "ok after 2"}
    assert retry.outputs["attempts"] == 2
    assert last.inputs["value"]["label"] == "hello"
    for node in (root, *root.children, *retry.children):
        assert node.metadata["run_id"] == result.run_id  # inherited from the root
        assert "flowwright" in node.tags
        assert node.end_time is not None and node.end_time >= node.start_time
    stored = json.dumps(tree.model_dump(mode="json"))
    assert JWT not in stored and "[REDACTED" in stored

    exported = export_trace(result.trace_id)
    by_id = {r["id"]: r for r in exported}
    for item in exported:
        assert item["trace_id"] == result.trace_id
        assert item["extra"]["metadata"]["run_id"] == result.run_id
        if item["parent_run_id"]:
            parent = by_id[item["parent_run_id"]]
            assert item["dotted_order"].startswith(parent["dotted_order"] + ".")

    (summary,) = list_traces(run_id=result.run_id)
    assert summary.trace_id == result.trace_id and summary.runs == 6

    from app.cli.main import app

    shown = CliRunner().invoke(app, ["traces", "show", result.trace_id])
    assert shown.exit_code == 0, shown.output
    for expected in ("workflow:traced", "first (nap)", "retry (flaky)", "upstream returned 503",
                     " ms"):  # fmt: skip
        assert expected in shown.stdout, expected


def test_a_failed_step_marks_the_trace_as_an_error(trace_db: str) -> None:
    failing = WORKFLOW.replace("failures: 1}", "failures: 1, kind: input}")
    result = run(failing, {"label": "broken", "api_token": "t"})
    assert result.status == "failed"
    tree = get_trace(result.trace_id)
    assert tree.root.status == "error" and "bad argument" in (tree.root.error or "")
    steps = {c.name: c for c in tree.root.children}
    assert steps["retry"].status == "error" and steps["retry"].error == "bad argument"
    assert steps["last"].outputs["status"] == "cancelled"  # it depended on the failed path
    assert [c.name for c in tree.root.children][-1] == "last"


def test_tracing_keeps_the_direct_tool_call_path(
    trace_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No LangChain callbacks are attached, so tools are still called without `ainvoke`."""

    async def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("tool called through ainvoke")

    monkeypatch.setattr(StructuredTool, "ainvoke", refuse)
    spec = """
flowwright: "1"
name: direct
steps:
  - {id: find, tool: extract_emails, params: {text: "mail ada@example.com"}}
"""
    result = run(spec, {}, Catalog.builtin())
    assert result.status == "succeeded", result.error
    assert result.steps[0].output == ["ada@example.com"]
    assert get_trace(result.trace_id).root.children[0].metadata["tool"] == "extract_emails"


def _llm_requests(model: str) -> float:
    labels = {"model": model, "status": "ok"}
    return REGISTRY.get_sample_value("flowwright_llm_requests_total", labels) or 0.0


def test_an_llm_step_is_counted_once_in_the_llm_metrics(
    trace_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake_init(model_id: str, **_: Any) -> GenericFakeChatModel:
        return GenericFakeChatModel(messages=iter([AIMessage("Welcome, Ada!")]))

    monkeypatch.setenv("FLOWWRIGHT_LLM_MODEL", "fake:model")
    monkeypatch.setattr("langchain.chat_models.init_chat_model", fake_init)
    get_settings.cache_clear()
    llm.clear_model_cache()
    before = _llm_requests("GenericFakeChatModel")
    spec = """
flowwright: "1"
name: greet
steps:
  - {id: greet, tool: llm_complete, params: {prompt: "Greet Ada"}}
"""
    try:
        result = run(spec, {}, Catalog.builtin())
    finally:
        llm.clear_model_cache()
    assert result.status == "succeeded" and result.steps[0].output == "Welcome, Ada!"
    assert _llm_requests("GenericFakeChatModel") == before + 1


def test_trace_engine_commits_without_waiting_for_the_disk(trace_db: str) -> None:
    with engine_for(trace_db).connect() as conn:
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL: run history
    with engine_for(trace_db, wait_for_disk=False).connect() as conn:
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL: traces


def test_trace_engine_on_postgresql_keeps_the_url_options() -> None:
    admin = "postgresql://postgres@127.0.0.1:5432/test"
    try:
        psycopg.connect(admin, connect_timeout=2).close()
    except psycopg.Error:
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dpg_catalog"
    engine = engine_for(url, wait_for_disk=False)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW synchronous_commit")).scalar() == "off"
            assert conn.execute(text("SHOW search_path")).scalar() == "pg_catalog"
        with engine_for(url).connect() as conn:
            assert conn.execute(text("SHOW synchronous_commit")).scalar() == "on"
    finally:
        engine.dispose()
        engine_for(url).dispose()


def test_json_columns_round_trip_what_json_would() -> None:
    data = {"naïve": "Grüße ✓", "n": [1, 2.5, None, True], "nested": {"k": "v"}}
    assert load_json(dump_json(data)) == data
    assert load_json(dump_json({1: "int key"})) == {"1": "int key"}
    huge = 2**70  # beyond orjson's 64-bit integers: falls back to json
    assert load_json(dump_json({"big": huge})) == {"big": huge}
    assert capped_json({"big": huge}) == ({"big": huge}, False)
    marker, truncated = capped_json("é" * 600, limit=1000)
    assert truncated and marker["bytes"] == 1202 and marker["preview"].startswith('"éé')


ECHO = """
flowwright: "1"
name: echoed
inputs:
  value: {type: string, required: true}
steps:
  - {id: say, tool: echo, params: {value: "{{ inputs.value }}"}}
"""


def test_a_run_is_one_stored_row_read_back_with_the_same_ids(trace_db: str) -> None:
    result = run(WORKFLOW, {"label": "hello", "api_token": "t"})
    first = export_trace(result.trace_id)
    with engine_for(trace_db).connect() as conn:
        stored = conn.execute(
            text("SELECT count(*), max(run_count) FROM trace_runs WHERE trace_id = :id"),
            {"id": result.trace_id},
        ).one()
    assert tuple(stored) == (1, 6)  # the run's row carries its 5 step and attempt runs
    assert export_trace(result.trace_id) == first  # ids and order do not change between reads
    assert len({r["id"] for r in first}) == 6


@pytest.mark.parametrize(
    "secret",
    ["Authorization: Bearer abcdefghijklmnop", f"see {JWT}", "postgresql://u:pw@db/x",
     "line one\nBearer abcdefghijklmnop", 'quoted "token": "abcdefgh12345"'],
)  # fmt: skip
def test_secrets_in_plain_values_are_masked_in_the_stored_trace(trace_db: str, secret: str) -> None:
    result = run(ECHO, {"value": secret})
    assert result.steps[0].output == secret  # the run itself sees the real value
    stored = json.dumps(export_trace(result.trace_id))
    for part in ("abcdefghijklmnop", JWT, ":pw@", "abcdefgh12345"):
        assert part not in stored


def test_an_oversized_payload_is_capped_and_the_rest_kept(trace_db: str) -> None:
    half = "x" * 600_000  # an expression may give up to 1 MB; together they pass the cap
    spec = """
flowwright: "1"
name: big
inputs:
  a: {type: string, required: true}
steps:
  - {id: say, tool: echo, params: {value: {a: "{{ inputs.a }}", b: "{{ inputs.a }}"}}}
  - {id: small, tool: echo, params: {value: kept}}
"""
    result = run(spec, {"a": half})
    assert result.status == "succeeded", result.error
    assert result.steps[0].output == {"a": half, "b": half}
    steps = {c.name: c for c in get_trace(result.trace_id).root.children}
    assert steps["say"].inputs["$truncated"] is True
    assert steps["say"].outputs["output"]["bytes"] > 1_000_000
    assert steps["small"].outputs["output"] == "kept"


def test_an_unreachable_trace_store_never_breaks_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory", encoding="utf-8")
    monkeypatch.setenv("FLOWWRIGHT_DATABASE_URL", f"sqlite:///{blocked / 'sub' / 'x.db'}")
    get_settings.cache_clear()
    try:
        with caplog.at_level("WARNING"):
            result = run(ECHO, {"value": "hello"})
    finally:
        get_settings.cache_clear()
    assert result.status == "succeeded" and result.steps[0].output == "hello"
    assert result.trace_id is None  # no id that leads nowhere
    assert any("trace not stored" in r.getMessage() for r in caplog.records)

"""Tracing: LangSmith uploads (captured by a local server) and the local trace store.

The LangSmith test runs the real langsmith client against a tiny HTTP server that records what
it POSTs to ``/runs/multipart`` and ``/runs/batch``, so the assertions hold for what would reach
LangSmith: the graph → node → LLM/tool structure, job/run ids in metadata, and no secrets.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
import yaml
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langchain_core.tools import tool
from langgraph.graph import START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.prebuilt import ToolNode, tools_condition
from typer.testing import CliRunner

from app.db import migrate
from app.db.base import engine_for
from app.engine.inputs import prepare_inputs
from app.engine.runner import WorkflowRunner
from app.observability.trace_store import LocalTraceStore
from app.observability.trace_writer import flush_trace_writes
from app.observability.traces import TraceNotFoundError, export_trace, get_trace, list_traces
from app.observability.tracing import configure_langsmith, flush_traces, tracing_config
from app.workflow.spec import WorkflowSpec
from tests import engine_tools
from tests.trace_helpers import JWT, WORKFLOW

API_KEY = "lsv2_pt_0123456789abcdef0123456789abcdef_feedfacecafe"
PASSWORD = "correct-horse-battery-staple"


# --- a LangSmith stand-in ---------------------------------------------------------------------
class CaptureServer:
    """Records every POST body; answers ``GET /info`` so the client uses multipart ingestion."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, data: Any) -> None:
                raw = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                self._reply({"version": "test", "batch_ingest_config": {}} if "/info" in self.path
                            else {})  # fmt: skip

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                capture.requests.append((self.path, dict(self.headers), body))
                self._reply({})

            do_PATCH = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def body_bytes(self) -> bytes:
        return b"".join(body for _, _, body in self.requests)

    def runs(self) -> dict[str, dict[str, Any]]:
        """Runs reassembled from multipart parts (``post.<id>``, ``patch.<id>.outputs``...)."""
        runs: dict[str, dict[str, Any]] = {}
        for path, headers, body in self.requests:
            if path.startswith("/runs/multipart"):
                head = f"Content-Type: {headers['Content-Type']}\r\n\r\n".encode()
                message = BytesParser(policy=HTTP).parsebytes(head + body)
                for part in message.iter_parts():
                    name = part.get_param("name", header="content-disposition")
                    _op, _, rest = str(name).partition(".")
                    run_id, _, field = rest.partition(".")
                    data = json.loads(part.get_payload(decode=True))
                    run = runs.setdefault(run_id, {})
                    run.update({field: data} if field else data)
            elif path.startswith("/runs/batch"):
                payload = json.loads(body)
                for op in ("post", "patch"):
                    for run in payload.get(op) or []:
                        runs.setdefault(str(run["id"]), {}).update(run)
        return runs


@pytest.fixture
def langsmith_capture(monkeypatch: pytest.MonkeyPatch) -> Iterator[CaptureServer]:
    from langsmith import run_trees
    from langsmith import utils as ls_utils

    server = CaptureServer()
    for name, value in {
        "LANGSMITH_TRACING": "true",
        "LANGSMITH_ENDPOINT": server.url,
        "LANGSMITH_API_KEY": API_KEY,
        "LANGSMITH_PROJECT": "flowwright-tests",
        "LANGSMITH_DISABLE_RUN_COMPRESSION": "true",
    }.items():
        monkeypatch.setenv(name, value)
    ls_utils.get_env_var.cache_clear()
    ls_utils.get_tracer_project.cache_clear()
    yield server
    flush_traces()
    run_trees.configure(client=None)
    monkeypatch.undo()
    ls_utils.get_env_var.cache_clear()
    ls_utils.get_tracer_project.cache_clear()
    server.server.shutdown()


# --- a small agent graph: an LLM that calls a tool, then answers ------------------------------
class AgentState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    settings: dict[str, Any]


@tool
def lookup_weather(city: str, password: str) -> str:
    """Weather for a city (the password stands in for any credential a tool receives)."""
    return f"sunny in {city}"


def agent_graph() -> Any:
    model = GenericFakeChatModel(
        messages=iter(
            [
                AIMessage(
                    "",
                    tool_calls=[{"name": "lookup_weather", "id": "call-1",
                                 "args": {"city": "Paris", "password": PASSWORD}}],
                    usage_metadata={"input_tokens": 11, "output_tokens": 5, "total_tokens": 16},
                ),
                AIMessage("It is sunny in Paris.",
                          usage_metadata={"input_tokens": 20, "output_tokens": 6,
                                          "total_tokens": 26}),
            ]
        )
    )  # fmt: skip

    def agent(state: AgentState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    graph = StateGraph(AgentState)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode([lookup_weather]))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition)
    graph.add_edge("tools", "agent")
    return graph.compile()


def test_langsmith_receives_the_run_tree_with_ids_and_no_secrets(
    langsmith_capture: CaptureServer, trace_db: str
) -> None:
    assert configure_langsmith() is not None
    config = tracing_config(job_id="job-42", run_id="run-42", kind="generate")
    store = next(h for h in config["callbacks"] if isinstance(h, LocalTraceStore))
    result = agent_graph().invoke(
        {
            "messages": [HumanMessage(f"Weather in Paris? auth: Bearer {JWT}")],
            "settings": {"db_password": PASSWORD, "url": f"postgresql://app:{PASSWORD}@db/x"},
        },
        config,
    )
    assert result["messages"][-1].content == "It is sunny in Paris."
    flush_traces()

    runs = langsmith_capture.runs()
    assert runs, "nothing reached the LangSmith endpoint"
    by_name: dict[str, list[dict[str, Any]]] = {}
    for run in runs.values():
        by_name.setdefault(run["name"], []).append(run)
    (root,) = by_name["flowwright.generate"]
    assert root.get("parent_run_id") is None and root["run_type"] == "chain"
    assert {"flowwright", "generate"} <= set(root["tags"])
    assert root["session_name"] == "flowwright-tests"
    agents, tools_nodes = by_name["agent"], by_name["tools"]
    assert len(agents) == 2 and len(tools_nodes) == 1
    assert all(str(n["parent_run_id"]) == str(root["id"]) for n in agents + tools_nodes)
    (tool_run,) = by_name["lookup_weather"]
    assert tool_run["run_type"] == "tool"
    assert str(tool_run["parent_run_id"]) == str(tools_nodes[0]["id"])
    llm_runs = [r for r in runs.values() if r["run_type"] == "llm"]
    assert len(llm_runs) == 2
    assert {str(r["parent_run_id"]) for r in llm_runs} == {str(a["id"]) for a in agents}
    for run in runs.values():
        assert str(run["trace_id"]) == str(root["id"])
        metadata = run["extra"]["metadata"]
        assert metadata["job_id"] == "job-42" and metadata["run_id"] == "run-42", run["name"]

    raw = langsmith_capture.body_bytes()
    for secret in (API_KEY, PASSWORD, JWT):
        assert secret.encode() not in raw, secret
    assert b"[REDACTED]" in raw
    # The key authenticated the upload (header), it just never appears in a payload.
    assert any(h.get("X-API-Key") == API_KEY or h.get("x-api-key") == API_KEY
               for _, h, _ in langsmith_capture.requests)  # fmt: skip

    # The local store saw the same runs, with the same ids and parents.
    (trace_id,) = store.trace_ids
    assert trace_id == str(root["id"])
    exported = {r["id"]: r for r in export_trace(trace_id)}
    assert set(exported) == {str(k) for k in runs}
    for run_id, run in runs.items():
        parent = run.get("parent_run_id")
        mine = exported[str(run_id)]
        assert mine["parent_run_id"] == (str(parent) if parent else None)
        # Same name, type and place in the tree as LangSmith's own tracer gives the run.
        assert (mine["name"], mine["run_type"]) == (run["name"], run["run_type"])
        assert ids_on_path(mine["dotted_order"]) == ids_on_path(run["dotted_order"])
    stored = json.dumps(export_trace(trace_id))
    assert PASSWORD not in stored and JWT not in stored


def ids_on_path(dotted_order: str) -> list[str]:
    """The run ids a ``dotted_order`` lists from the root (each part is a time then an id;
    two tracers time the same run a few microseconds apart)."""
    return [part[-36:] for part in dotted_order.split(".")]


# --- the local trace store on a real workflow run ---------------------------------------------
def run_traced_workflow(run_id: str, store: LocalTraceStore) -> Any:
    engine_tools.reset()
    spec = WorkflowSpec.model_validate(yaml.safe_load(WORKFLOW))
    runner = WorkflowRunner(engine_tools.catalog())
    inputs = prepare_inputs(spec, {"label": "hello", "api_token": f"Bearer {JWT}"})
    payload = {"inputs": inputs, "dry_run": False, "results": {}, "halted": None}
    config: dict[str, Any] = {
        **tracing_config(run_id=run_id, kind="workflow", local=False, callbacks=[store]),
        "configurable": {"thread_id": run_id},
    }
    return asyncio.run(runner.compiled(spec).ainvoke(payload, config=config))


def test_workflow_run_is_stored_as_one_tree_and_shown_by_the_cli(
    trace_db: str, tmp_path: Path
) -> None:
    store = LocalTraceStore()
    state = run_traced_workflow("run-traced-1", store)
    assert state["outputs"] == {"label": "hello"}
    (trace_id,) = store.trace_ids
    assert store.runs == {}  # nothing kept after the write

    (summary,) = list_traces(run_id="run-traced-1")
    assert summary.trace_id == trace_id and summary.status == "success"
    assert summary.name == "flowwright.workflow" and summary.run_id == "run-traced-1"
    assert summary.duration_ms is not None and summary.runs >= 7
    assert list_traces(run_id="another-run") == []
    assert list_traces(job_id="run-traced-1") == []

    tree = get_trace(trace_id)
    assert tree.run_id == "run-traced-1" and tree.runs == summary.runs
    root = tree.root
    assert root.parent_run_id is None and root.run_type == "chain"
    steps = {child.name: child for child in root.children}
    assert {"first", "retry", "last"} <= set(steps)
    tools = {step: [c for c in steps[step].children if c.run_type == "tool"]
             for step in ("first", "retry", "last")}  # fmt: skip
    assert [t.name for t in tools["first"]] == ["nap"]
    assert [t.name for t in tools["last"]] == ["echo"]
    flaky = tools["retry"]
    assert [t.status for t in flaky] == ["error", "success"]  # the retry is visible
    assert "upstream returned 503" in (flaky[0].error or "")
    for node in (root, *steps.values(), *flaky):
        assert node.duration_ms is not None and node.duration_ms >= 0
        assert node.end_time is not None and node.end_time >= node.start_time
        assert node.metadata.get("run_id") == "run-traced-1"
    assert tools["first"][0].outputs is not None

    text = json.dumps(tree.model_dump(mode="json"))
    assert JWT not in text and "[REDACTED" in text

    exported = export_trace(trace_id)
    assert exported[0]["id"] == trace_id and exported[0]["parent_run_id"] is None
    ids = {r["id"] for r in exported}
    for run in exported:
        assert set(run) >= {"id", "trace_id", "dotted_order", "parent_run_id", "name",
                            "run_type", "start_time", "end_time", "inputs", "outputs",
                            "error", "extra", "tags"}  # fmt: skip
        assert run["trace_id"] == trace_id and run["dotted_order"].endswith(run["id"])
        assert run["parent_run_id"] is None or run["parent_run_id"] in ids
        assert run["extra"]["metadata"]["run_id"] == "run-traced-1"
        if run["parent_run_id"]:
            parent = next(r for r in exported if r["id"] == run["parent_run_id"])
            assert run["dotted_order"].startswith(parent["dotted_order"] + ".")

    from app.cli.main import app

    cli = CliRunner()
    listed = cli.invoke(app, ["traces", "list", "--run", "run-traced-1", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [t["trace_id"] for t in json.loads(listed.stdout)] == [trace_id]
    shown = cli.invoke(app, ["traces", "show", trace_id[:13]])
    assert shown.exit_code == 0, shown.output
    for expected in ("flowwright.workflow", "first", "nap", "retry", "flaky", "error",
                     "success", "upstream returned 503", "in:", "out:", " ms"):  # fmt: skip
        assert expected in shown.stdout, expected
    assert JWT not in shown.stdout
    shown_json = cli.invoke(app, ["traces", "show", trace_id, "--json"])
    assert json.loads(shown_json.stdout)["trace_id"] == trace_id
    out = tmp_path / "trace.json"
    exported_cli = cli.invoke(app, ["traces", "export", trace_id, "--out", str(out)])
    assert exported_cli.exit_code == 0, exported_cli.output
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(json.dumps(exported))
    missing = cli.invoke(app, ["traces", "show", "0000000000"])
    assert missing.exit_code == 2 and "TRACE_NOT_FOUND" in missing.stderr


def test_one_write_per_trace_and_redaction_can_be_turned_off(
    trace_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import event

    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "COMMIT")):
            statements.append(statement.split()[0].upper())

    engine = engine_for(trace_db, wait_for_disk=False)  # traces skip the commit's fsync
    event.listen(engine, "before_cursor_execute", count)
    try:
        store = LocalTraceStore(redact_payloads=False)
        run_traced_workflow("run-plain", store)
        flush_trace_writes()  # the store hands the rows to the writer thread
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert statements == ["INSERT"], statements  # one executemany for the whole trace
    text = json.dumps(get_trace(store.trace_ids[0]).model_dump(mode="json"))
    assert JWT in text  # FLOWWRIGHT_TRACE_REDACT=false keeps payloads as they were


def test_tracing_config_shape() -> None:
    config = tracing_config(job_id="j1", kind="generate", tags=["x"], metadata={"user": "ada"},
                            local=False, metrics=False)  # fmt: skip
    assert config["run_name"] == "flowwright.generate"
    assert config["tags"] == ["flowwright", "generate", "x"]
    assert config["metadata"]["job_id"] == "j1" and config["metadata"]["user"] == "ada"
    assert "run_id" not in config["metadata"] and "callbacks" not in config
    assert "configurable" not in config
    with_handlers = tracing_config(run_id="r1", local=True)
    kinds = {type(h).__name__ for h in with_handlers["callbacks"]}
    assert kinds == {"LocalTraceStore", "MetricsCallbackHandler"}


def test_unknown_trace(trace_db: str) -> None:
    with pytest.raises(TraceNotFoundError):
        get_trace("does-not-exist")
    assert list_traces() == []


def test_storage_failure_never_breaks_the_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory", encoding="utf-8")
    url = f"sqlite:///{blocked / 'sub' / 'x.db'}"
    store = LocalTraceStore(url=url)
    with caplog.at_level("WARNING"):
        state = run_traced_workflow("run-unstored", store)
        flush_trace_writes()
    assert state["outputs"] == {"label": "hello"}
    assert any("trace not stored" in r.getMessage() for r in caplog.records)
    assert store.trace_ids == []  # no id handed out for a trace that was not stored
    with pytest.raises(migrate.DatabaseUnavailableError):  # nothing was stored there
        list_traces(url=url)

"""Every Prometheus metric moves when its helper, the HTTP middleware or the LLM handler runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import LLMResult
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from app.observability import metrics as m
from app.observability.callbacks import MetricsCallbackHandler

ROOT = Path(__file__).resolve().parents[1]


def value(name: str, **labels: str) -> float:
    """A sample's current value from the rendered exposition (0 when absent)."""
    body, _ = m.render_metrics()
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def test_render_metrics_returns_exposition_and_content_type() -> None:
    body, content_type = m.render_metrics()
    assert content_type.startswith("text/plain")
    text = body.decode()
    for metric in m.ALL_METRICS:
        assert f"# TYPE {metric._name}" in text, metric._name


def test_observe_step_moves_steps_duration_and_retries() -> None:
    tool = f"tool_{uuid4().hex[:6]}"
    m.observe_step(tool, "succeeded", 0.2, retries=2)
    m.observe_step(tool, "failed", 1.5, retries=0)
    assert value("flowwright_workflow_steps_total", tool=tool, status="succeeded") == 1
    assert value("flowwright_workflow_steps_total", tool=tool, status="failed") == 1
    assert value("flowwright_workflow_step_duration_seconds_count", tool=tool) == 2
    assert value("flowwright_workflow_step_duration_seconds_sum", tool=tool) == pytest.approx(1.7)
    assert value("flowwright_workflow_step_retries_total", tool=tool) == 2


def test_observe_run_counts_by_status() -> None:
    before = value("flowwright_workflow_runs_total", status="rejected")
    m.observe_run("rejected")
    assert value("flowwright_workflow_runs_total", status="rejected") == before + 1


def test_observe_node_moves_executions_duration_and_errors() -> None:
    node = f"node_{uuid4().hex[:6]}"
    m.observe_node(node, 0.3)
    m.observe_node(node, 0.1, error=True)
    assert value("flowwright_agent_node_executions_total", node=node, status="ok") == 1
    assert value("flowwright_agent_node_executions_total", node=node, status="error") == 1
    assert value("flowwright_agent_node_duration_seconds_count", node=node) == 2
    assert value("flowwright_agent_node_errors_total", node=node) == 1


def test_observe_repair_counts_attempts() -> None:
    before = value("flowwright_agent_repair_attempts_total")
    m.observe_repair()
    m.observe_repair(2)
    assert value("flowwright_agent_repair_attempts_total") == before + 3


def test_observe_plan_gives_a_computable_valid_plan_ratio() -> None:
    planner = f"p{uuid4().hex[:6]}"
    for valid in (True, True, False, True):
        m.observe_plan(0.02, valid, planner=planner)
    plans = value("flowwright_planner_plans_total", planner=planner)
    valid = value("flowwright_planner_valid_plans_total", planner=planner)
    assert (plans, valid) == (4, 3)
    assert valid / plans == 0.75
    assert value("flowwright_planner_latency_seconds_count", planner=planner) == 4


def test_observe_llm_counts_requests_tokens_and_errors() -> None:
    model = f"model-{uuid4().hex[:6]}"
    m.observe_llm(model, tokens_in=10, tokens_out=4)
    m.observe_llm(model, error=True)
    assert value("flowwright_llm_requests_total", model=model, status="ok") == 1
    assert value("flowwright_llm_requests_total", model=model, status="error") == 1
    assert value("flowwright_llm_tokens_total", model=model, direction="input") == 10
    assert value("flowwright_llm_tokens_total", model=model, direction="output") == 4
    assert value("flowwright_llm_errors_total", model=model) == 1


def test_observe_rate_limited_and_artifacts() -> None:
    tier = f"tier{uuid4().hex[:6]}"
    m.observe_rate_limited(tier)
    m.observe_artifacts("workflow", 0)  # nothing generated: nothing counted
    before = value("flowwright_artifacts_generated_total", kind="workflow")
    m.observe_artifacts("workflow", 6)
    assert value("flowwright_rate_limited_total", tier=tier) == 1
    assert value("flowwright_artifacts_generated_total", kind="workflow") == before + 6


def _app() -> Starlette:
    async def item(request):  # type: ignore[no-untyped-def]
        assert m.HTTP_IN_FLIGHT._value.get() >= 1  # counted while the request is served
        return JSONResponse({"id": request.path_params["item_id"]})

    async def boom(request):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    async def ping(request):  # type: ignore[no-untyped-def]
        return PlainTextResponse("pong")

    app = Starlette(
        routes=[
            Route("/items/{item_id}", item),
            Route("/boom", boom),
            Mount("/v1", routes=[Route("/ping/{n:int}", ping)]),
        ]
    )
    app.add_middleware(m.MetricsMiddleware)
    return app


def test_middleware_records_route_templates_status_latency_and_in_flight() -> None:
    client = TestClient(_app(), raise_server_exceptions=False)
    before = value("flowwright_http_requests_total", method="GET", route="/items/{item_id}",
                   status="200")  # fmt: skip
    for n in range(3):
        assert client.get(f"/items/{n}").status_code == 200
    assert client.get("/v1/ping/7").text == "pong"
    assert client.get("/boom").status_code == 500
    assert client.get("/nope/123").status_code == 404
    assert (
        value(
            "flowwright_http_requests_total", method="GET", route="/items/{item_id}", status="200"
        )
        == before + 3
    )
    assert value("flowwright_http_requests_total", route="/v1/ping/{n}", status="200") >= 1
    assert value("flowwright_http_requests_total", route="/boom", status="500") >= 1
    assert value("flowwright_http_requests_total", route=m.UNMATCHED_ROUTE, status="404") >= 1
    assert value("flowwright_http_request_duration_seconds_count", route="/items/{item_id}") >= 3
    body = m.render_metrics()[0].decode()
    assert "/items/0" not in body and "/nope/123" not in body  # raw paths never become labels
    assert m.HTTP_IN_FLIGHT._value.get() == 0


def test_middleware_uses_fastapi_route_templates() -> None:
    from fastapi import APIRouter, FastAPI

    router = APIRouter(prefix="/runs")

    @router.get("/{run_id}")
    async def get_run(run_id: str) -> dict[str, str]:
        return {"run_id": run_id}

    app = FastAPI()
    app.include_router(router)
    app.add_middleware(m.MetricsMiddleware, exclude=("/metrics",))
    client = TestClient(app)
    before = value("flowwright_http_requests_total", route="/runs/{run_id}", status="200")
    client.get("/runs/abc")
    assert value("flowwright_http_requests_total", route="/runs/{run_id}", status="200") == (
        before + 1
    )


def test_callback_handler_counts_any_chat_model() -> None:
    model = GenericFakeChatModel(
        messages=iter(
            [
                AIMessage(
                    "hi",
                    usage_metadata={"input_tokens": 12, "output_tokens": 3, "total_tokens": 15},
                )
            ]
        )
    )
    name = "GenericFakeChatModel"
    before = (
        value("flowwright_llm_requests_total", model=name, status="ok"),
        value("flowwright_llm_tokens_total", model=name, direction="input"),
        value("flowwright_llm_tokens_total", model=name, direction="output"),
    )
    model.invoke("hello", config={"callbacks": [MetricsCallbackHandler()]})
    assert value("flowwright_llm_requests_total", model=name, status="ok") == before[0] + 1
    assert value("flowwright_llm_tokens_total", model=name, direction="input") == before[1] + 12
    assert value("flowwright_llm_tokens_total", model=name, direction="output") == before[2] + 3


def test_callback_handler_counts_errors_and_llm_output_usage() -> None:
    handler = MetricsCallbackHandler()
    run_id = uuid4()
    model = f"m-{uuid4().hex[:6]}"
    handler.on_chat_model_start({}, [[]], run_id=run_id, metadata={"ls_model_name": model})
    handler.on_llm_error(TimeoutError("slow"), run_id=run_id)
    assert value("flowwright_llm_errors_total", model=model) == 1
    run_id = uuid4()
    handler.on_llm_start({}, ["x"], run_id=run_id, invocation_params={"model": model})
    handler.on_llm_end(
        LLMResult(generations=[[]], llm_output={"token_usage": {"prompt_tokens": 9,
                                                                 "completion_tokens": 2}}),
        run_id=run_id,
    )  # fmt: skip
    assert value("flowwright_llm_tokens_total", model=model, direction="input") == 9
    assert value("flowwright_llm_requests_total", model=model, status="ok") == 1


def test_multiprocess_mode_aggregates_workers(tmp_path: Path) -> None:
    """Two processes write into PROMETHEUS_MULTIPROC_DIR; a third renders their sum."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    record = (
        "import os\nfrom app.observability import metrics as m\n"
        "m.observe_run('succeeded'); m.HTTP_IN_FLIGHT.inc(); print(os.getpid())\n"
    )
    pids = [
        subprocess.run(
            [sys.executable, "-c", record],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        for _ in range(2)
    ]
    render = (
        "import sys\nfrom app.observability import metrics as m\n"
        f"m.mark_process_dead({pids[0]})\n"
        "sys.stdout.write(m.render_metrics()[0].decode())\n"
    )
    out = subprocess.run([sys.executable, "-c", render], env=env, cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    assert 'flowwright_workflow_runs_total{status="succeeded"} 2.0' in out
    # The in-flight gauge sums live workers only: the dead one's request no longer counts.
    assert "flowwright_http_requests_in_flight 1.0" in out


def test_docs_observability_md_lists_every_metric() -> None:
    text = (ROOT / "docs" / "observability.md").read_text(encoding="utf-8")
    start = text.index(m.METRICS_BEGIN)
    block = text[start : text.index(m.METRICS_END, start) + len(m.METRICS_END)] + "\n"
    assert block == m.metrics_markdown(), (
        "docs/observability.md is stale: paste app.observability.metrics.metrics_markdown()"
    )

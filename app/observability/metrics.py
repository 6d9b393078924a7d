"""Every Prometheus metric Flowwright exports, defined once, with typed recording helpers.

Callers never touch metric objects: they call `observe_*` helpers, so label names and values
stay consistent (and documented: `docs/observability.md` is generated from `ALL_METRICS` and a
test keeps the two in step). Label values are bounded on purpose: HTTP routes are templates
(``/runs/{run_id}``, never the raw path), unknown routes collapse to ``<unmatched>``.

Multiprocess mode (several uvicorn/gunicorn workers): set ``PROMETHEUS_MULTIPROC_DIR`` to an
empty directory *before* the process imports prometheus_client; every worker writes its samples
there and `render_metrics` aggregates them with ``MultiProcessCollector``. Gauges declare how
they aggregate across workers (``multiprocess_mode``).
"""

from __future__ import annotations

import os
import time
from functools import lru_cache
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)
from prometheus_client.metrics import MetricWrapperBase
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NAMESPACE = "flowwright"
UNMATCHED_ROUTE = "<unmatched>"

# Metrics register here in single-process mode; a private registry (not prometheus_client's
# global one) so importing other libraries' metrics never collides with ours.
REGISTRY = CollectorRegistry(auto_describe=True)
# `*_created` series double the output for no dashboard use; rate() works from `_total`.
disable_created_metrics()
process_collector.ProcessCollector(registry=REGISTRY)
platform_collector.PlatformCollector(registry=REGISTRY)
gc_collector.GCCollector(registry=REGISTRY)

_FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_SLOW = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
_PLAN = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def _kw() -> dict[str, Any]:
    return {"namespace": NAMESPACE, "registry": REGISTRY}


# --- HTTP API ---------------------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "http_requests", "HTTP requests answered.", ["method", "route", "status"], **_kw()
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds", "HTTP request latency (until the response is sent).",
    ["method", "route"], buckets=_FAST, **_kw(),
)  # fmt: skip
HTTP_IN_FLIGHT = Gauge(
    "http_requests_in_flight", "HTTP requests being served right now.",
    multiprocess_mode="livesum", **_kw(),
)  # fmt: skip
RATE_LIMITED = Counter(
    "rate_limited", "Requests rejected by the rate limiter (HTTP 429).", ["tier"], **_kw()
)

# --- generator agents (planner, validator, tool_runner, generator) ----------------------------
NODE_EXECUTIONS = Counter(
    "agent_node_executions", "Agent node executions.", ["node", "status"], **_kw()
)
NODE_DURATION = Histogram(
    "agent_node_duration_seconds", "Agent node run time.", ["node"], buckets=_SLOW, **_kw()
)
NODE_ERRORS = Counter("agent_node_errors", "Agent node executions that raised.", ["node"], **_kw())
REPAIR_ATTEMPTS = Counter(
    "agent_repair_attempts", "Planner re-runs asked for by the validator (repair loop).", **_kw()
)
PLANNER_LATENCY = Histogram(
    "planner_latency_seconds", "Time to produce one plan.", ["planner"], buckets=_PLAN, **_kw()
)
PLANS = Counter("planner_plans", "Plans produced (valid or not).", ["planner"], **_kw())
VALID_PLANS = Counter(
    "planner_valid_plans",
    "Plans that passed validation; valid-plan ratio = valid_plans / plans.",
    ["planner"],
    **_kw(),
)
ARTIFACTS = Counter(
    "artifacts_generated", "Artifacts written (workflow.yaml, graph.py, ...).", ["kind"], **_kw()
)

# --- workflow engine --------------------------------------------------------------------------
WORKFLOW_RUNS = Counter(
    "workflow_runs", "Workflow runs by final (or paused) status.", ["status"], **_kw()
)
STEPS = Counter("workflow_steps", "Workflow steps finished.", ["tool", "status"], **_kw())
STEP_DURATION = Histogram(
    "workflow_step_duration_seconds", "Workflow step run time, retries included.", ["tool"],
    buckets=_SLOW, **_kw(),
)  # fmt: skip
STEP_RETRIES = Counter(
    "workflow_step_retries", "Extra attempts of workflow steps (attempts - 1).", ["tool"], **_kw()
)

# --- LLM calls (any LangChain chat model, through MetricsCallbackHandler) ---------------------
LLM_REQUESTS = Counter("llm_requests", "LLM calls.", ["model", "status"], **_kw())
LLM_TOKENS = Counter(
    "llm_tokens", "LLM tokens by direction (input/output).", ["model", "direction"], **_kw()
)
LLM_ERRORS = Counter("llm_errors", "LLM calls that failed.", ["model"], **_kw())

ALL_METRICS: tuple[MetricWrapperBase, ...] = (
    HTTP_REQUESTS, HTTP_LATENCY, HTTP_IN_FLIGHT, RATE_LIMITED,
    NODE_EXECUTIONS, NODE_DURATION, NODE_ERRORS, REPAIR_ATTEMPTS,
    PLANNER_LATENCY, PLANS, VALID_PLANS, ARTIFACTS,
    WORKFLOW_RUNS, STEPS, STEP_DURATION, STEP_RETRIES,
    LLM_REQUESTS, LLM_TOKENS, LLM_ERRORS,
)  # fmt: skip


# --- recording helpers ------------------------------------------------------------------------
def observe_step(tool: str, status: str, seconds: float | None, retries: int = 0) -> None:
    """A finished workflow step: its tool, final status, run time and extra attempts."""
    steps, duration = _step_series(tool, status)
    steps.inc()
    if seconds is not None:
        duration.observe(max(seconds, 0.0))
    if retries > 0:
        STEP_RETRIES.labels(tool=tool).inc(retries)


@lru_cache(maxsize=4096)
def _step_series(tool: str, status: str) -> tuple[Any, Any]:
    """The labelled series of a (tool, status): `labels()` costs more than the update itself,
    and a long run updates the same few series once per step."""
    return STEPS.labels(tool=tool, status=status), STEP_DURATION.labels(tool=tool)


def observe_run(status: str) -> None:
    """A workflow run reached `status` (succeeded, failed, rejected, waiting_approval...)."""
    WORKFLOW_RUNS.labels(status=status).inc()


def observe_node(node: str, seconds: float, error: bool = False) -> None:
    """One agent node execution (planner, validator, tool_runner, generator)."""
    NODE_EXECUTIONS.labels(node=node, status="error" if error else "ok").inc()
    NODE_DURATION.labels(node=node).observe(max(seconds, 0.0))
    if error:
        NODE_ERRORS.labels(node=node).inc()


def observe_repair(n: int = 1) -> None:
    """The validator sent a plan back to the planner for repair."""
    REPAIR_ATTEMPTS.inc(n)


def observe_plan(seconds: float, valid: bool, planner: str = "rules") -> None:
    """One plan produced by a planner backend, and whether it validated."""
    PLANNER_LATENCY.labels(planner=planner).observe(max(seconds, 0.0))
    PLANS.labels(planner=planner).inc()
    if valid:
        VALID_PLANS.labels(planner=planner).inc()


def observe_llm(model: str, tokens_in: int = 0, tokens_out: int = 0, error: bool = False) -> None:
    """One LLM call: its model, token usage (when reported) and whether it failed."""
    model = model or "unknown"
    LLM_REQUESTS.labels(model=model, status="error" if error else "ok").inc()
    if error:
        LLM_ERRORS.labels(model=model).inc()
    if tokens_in > 0:
        LLM_TOKENS.labels(model=model, direction="input").inc(tokens_in)
    if tokens_out > 0:
        LLM_TOKENS.labels(model=model, direction="output").inc(tokens_out)


def observe_rate_limited(tier: str) -> None:
    """A request was refused by the rate limiter for `tier` (anonymous, user, admin...)."""
    RATE_LIMITED.labels(tier=tier).inc()


def observe_artifacts(kind: str, n: int = 1) -> None:
    """`n` artifacts of `kind` (workflow, backend, or a file kind) were generated."""
    if n > 0:
        ARTIFACTS.labels(kind=kind).inc(n)


# --- exposition -------------------------------------------------------------------------------
def multiprocess_enabled() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def render_metrics() -> tuple[bytes, str]:
    """The text exposition of every metric and its content type (for a ``/metrics`` route)."""
    if multiprocess_enabled():
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def mark_process_dead(pid: int) -> None:
    """Gunicorn ``child_exit`` hook: drop a dead worker's live gauges (multiprocess mode)."""
    if multiprocess_enabled():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


# --- HTTP middleware --------------------------------------------------------------------------
def _match_template(routes: list[Any], scope: Scope, prefix: str = "") -> str | None:
    for route in routes:
        match, child = route.matches(scope)
        if match is not Match.FULL:
            continue
        if isinstance(route, Mount):
            inner = _match_template(route.routes, {**scope, **child}, prefix + route.path)
            return inner or prefix + route.path
        return prefix + getattr(route, "path_format", getattr(route, "path", ""))
    return None


def _fastapi_effective_path(scope: Scope) -> str | None:
    """The full template FastAPI matched, prefixes of included routers and all.

    Since FastAPI 0.13x, included routers stay nested (``_IncludedRouter``) and
    ``scope["route"]`` is the route as declared, *without* the prefixes it was included under
    (``/tools/{name}`` for ``/api/v1/tools/{name}``); the effective route context FastAPI keeps
    in the scope has the full template. Older FastAPI has no such context: None.
    """
    if "fastapi" not in scope:
        return None
    try:
        from fastapi.routing import _get_scope_effective_route_context
    except ImportError:
        return None
    context = _get_scope_effective_route_context(scope)
    if context is None:
        return None
    starlette_route = getattr(context, "starlette_route", None)
    path = getattr(starlette_route, "path_format", None) or getattr(context, "path_format", None)
    return str(path) if path else None


def route_template(scope: Scope, root_path: str = "") -> str:
    """The matched route's template (``/runs/{run_id}``), or ``<unmatched>``.

    FastAPI records the matched route in ``scope["route"]``; plain Starlette does not, so the
    app's routes are matched again (cheap, and only when needed).
    """
    path = _fastapi_effective_path(scope)
    if path:
        return str(scope.get("root_path", ""))[len(root_path) :] + path
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if path:
        mounted = str(scope.get("root_path", ""))[len(root_path) :]
        return mounted + path
    app = scope.get("app")
    routes = getattr(app, "routes", None)
    if routes:
        try:
            found = _match_template(list(routes), {**scope, "root_path": root_path})
        except Exception:  # a custom route type that cannot match a copy of the scope
            found = None
        if found:
            return found
    return UNMATCHED_ROUTE


class MetricsMiddleware:
    """Pure-ASGI middleware: request count, latency and in-flight gauge per route template.

    `exclude` lists route templates left out (e.g. ``/metrics`` itself, scraped every few
    seconds). Exceptions count as status 500 and are re-raised untouched.
    """

    def __init__(self, app: ASGIApp, exclude: tuple[str, ...] = ()) -> None:
        self.app = app
        self.exclude = frozenset(exclude)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        root_path = str(scope.get("root_path", ""))
        status = 500
        start = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_status)
        finally:
            HTTP_IN_FLIGHT.dec()
            route = route_template(scope, root_path)
            if route not in self.exclude:
                method = str(scope.get("method", "GET"))
                HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
                HTTP_LATENCY.labels(method=method, route=route).observe(time.perf_counter() - start)


# --- documentation ----------------------------------------------------------------------------
METRICS_BEGIN = "<!-- metrics:begin (generated by app.observability.metrics.metrics_markdown) -->"
METRICS_END = "<!-- metrics:end -->"


def exposed_name(metric: MetricWrapperBase) -> str:
    """The sample name Prometheus shows (counters gain ``_total``)."""
    name = metric._name
    return f"{name}_total" if metric._type == "counter" else name


def metrics_markdown() -> str:
    """The metrics table of docs/observability.md (a test compares the two)."""
    lines = [METRICS_BEGIN, "| metric | type | labels | description |", "|---|---|---|---|"]
    for metric in ALL_METRICS:
        labels = ", ".join(f"`{label}`" for label in metric._labelnames) or "—"
        lines.append(
            f"| `{exposed_name(metric)}` | {metric._type} | {labels} | {metric._documentation} |"
        )
    lines.append(METRICS_END)
    return "\n".join(lines) + "\n"

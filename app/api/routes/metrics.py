"""`GET /metrics`: the Prometheus exposition of every Flowwright metric.

Unauthenticated and not rate limited, as Prometheus scrapers expect: the series carry counts,
latencies and route templates, never ids, payloads or secrets. Restrict it at the network layer
(an ingress rule, or bind the scrape port privately) when the API is public; see
docs/observability.md. The route is left out of the HTTP metrics themselves (scrapes every few
seconds would dominate the request counters).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

METRICS_PATH = "/metrics"
router = APIRouter(tags=["observability"])


@router.get(
    METRICS_PATH,
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}},
)
async def metrics() -> Response:
    from app.observability.metrics import render_metrics

    # Rendering walks every series (and, in multiprocess mode, reads files): keep it off the loop.
    body, content_type = await run_in_threadpool(render_metrics)
    return Response(content=body, media_type=content_type)

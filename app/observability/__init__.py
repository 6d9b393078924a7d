"""Observability: Prometheus metrics, health checks, structured logs and traces (issue 7).

Submodules are imported on demand (`app.observability.metrics`, `.health`, `.logging`,
`.tracing`, `.traces`) so that importing the package costs nothing: the CLI must start fast and
only some entry points need Prometheus, structlog or LangChain.
"""

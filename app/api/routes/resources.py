"""One router for the owned API resources (generation jobs, artifacts, workflows, runs).

It carries its own lifespan, which FastAPI merges into the app's (after the app's own start-up,
so the schema is migrated first): one checkpointer, one `RunService` and one task registry per
app, opened at start-up and closed at shutdown. That keeps `app.py` down to one
`include_router` line.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from slowapi import Limiter
from starlette.concurrency import run_in_threadpool

from app.api.routes.artifacts import build_artifacts_router
from app.api.routes.common import Resources
from app.api.routes.generate import build_generate_router
from app.api.routes.jobs import build_jobs_router
from app.api.routes.runs import build_runs_router
from app.api.routes.workflows import build_workflows_router
from app.api.settings import ApiSettings
from app.db.migrate import ensure_schema
from app.engine.checkpoints import open_checkpointer
from app.services.jobs import JobRunner
from app.services.run_tasks import RunTasks
from app.services.runs import RunService
from app.services.tasks import TaskRegistry


def build_resources_router(limiter: Limiter, settings: ApiSettings) -> APIRouter:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = settings.resolved_database_url
        await run_in_threadpool(ensure_schema, url)
        catalog = await run_in_threadpool(app.state.catalog)
        async with open_checkpointer(settings) as checkpointer:
            registry = TaskRegistry(asyncio.get_running_loop())
            service = RunService(catalog, checkpointer)
            app.state.resources = Resources(
                url=url,
                home=settings.home.resolve(),
                registry=registry,
                runs=RunTasks(service, url, registry),
                jobs=JobRunner(url, settings.home.resolve(), catalog, checkpointer),
            )
            try:
                yield
            finally:
                await registry.shutdown()
                app.state.resources = None

    router = APIRouter(lifespan=lifespan)
    router.include_router(build_generate_router(limiter, settings))
    router.include_router(build_jobs_router(limiter, settings))
    router.include_router(build_artifacts_router(limiter, settings))
    router.include_router(build_workflows_router(limiter, settings))
    router.include_router(build_runs_router(limiter, settings))
    return router

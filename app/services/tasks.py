"""Background work of one API process: asyncio tasks on the server's event loop, by resource id.

Route handlers are synchronous (they run in the threadpool so slowapi's and SQLAlchemy's
blocking calls stay off the event loop), so tasks are submitted thread-safely with
`run_coroutine_threadsafe`. Only this process can cancel its own tasks; everything a client can
observe about a task is in the database, not here.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger("flowwright.api.tasks")
CoroFactory = Callable[[], Coroutine[Any, Any, Any]]


class TaskRegistry:
    """Tasks keyed by job or run id; finished tasks remove themselves."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.tasks: dict[str, asyncio.Task[Any]] = {}

    def _start(self, key: str, factory: CoroFactory) -> asyncio.Task[Any]:
        task = self.loop.create_task(factory(), name=f"flowwright:{key}")
        self.tasks[key] = task

        def done(t: asyncio.Task[Any]) -> None:
            if self.tasks.get(key) is t:
                del self.tasks[key]
            if not t.cancelled() and t.exception() is not None:
                log.error("background task %s failed", key, exc_info=t.exception())

        task.add_done_callback(done)
        return task

    def submit(self, key: str, factory: CoroFactory) -> concurrent.futures.Future[Any]:
        """Start `factory()` as a task on the loop from any thread; a future of its result."""

        async def start_and_wait() -> Any:
            return await self._start(key, factory)

        return asyncio.run_coroutine_threadsafe(start_and_wait(), self.loop)

    def is_local(self, key: str) -> bool:
        task = self.tasks.get(key)
        return task is not None and not task.done()

    def cancel(self, key: str) -> bool:
        """Cancel the task from any thread; False when it is not running in this process."""
        task = self.tasks.get(key)
        if task is None or task.done():
            return False
        self.loop.call_soon_threadsafe(task.cancel)
        return True

    async def shutdown(self, timeout_s: float = 10.0) -> None:
        """Cancel what is still running and give it `timeout_s` to record that."""
        pending = [t for t in self.tasks.values() if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=timeout_s)

"""Store finished traces off the caller's path: a queue, a daemon thread, flush on demand.

A workflow run should not wait for its trace to be checked for secrets, decoded and committed
(about 1 ms for a 100-step run). The run hands its encoded snapshot to this writer and
returns; the trace id is fixed up front, so results can name it at once. A trace is stored by
the daemon thread 0.2 s later, or sooner by whoever flushes: readers in the same process
(`list_traces`, `get_trace`, the CLI, the API) call `flush_trace_writes` first, and the
process flushes at exit, so a finished command never leaves its trace unwritten. Another
process reading the same database may see a trace up to 0.2 s late. A process killed with
SIGKILL loses the traces still queued (at most those of its last moments).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import deque
from collections.abc import Callable

log = logging.getLogger(__name__)

Job = Callable[[], object]
WRITE_DELAY_S = 0.2  # how long a trace waits before the daemon thread stores it


class TraceWriter:
    """Runs trace-storing jobs off the caller's path, one at a time per thread.

    A daemon thread (started on first use) takes a job once it has waited `delay_s`: by then
    the run or request that made it has usually finished, so storing the trace does not
    compete with it for the GIL (a writer started at once made a 100-step run measurably
    slower than the write itself costs). `flush` runs the jobs still waiting on the caller's
    own thread, then waits for any job the daemon has in hand, so a reader always sees every
    trace submitted before it asked.
    """

    def __init__(self, delay_s: float = WRITE_DELAY_S) -> None:
        self.delay_s = delay_s
        self._jobs: deque[tuple[float, Job]] = deque()
        self._changed = threading.Condition()
        self._running = 0
        self._thread: threading.Thread | None = None

    def submit(self, job: Job) -> None:
        with self._changed:
            self._jobs.append((time.monotonic() + self.delay_s, job))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._work, name="flowwright-trace-writer", daemon=True
                )
                self._thread.start()
            self._changed.notify_all()

    def flush(self) -> None:
        """Block until every job submitted so far has run (the waiting ones run here)."""
        while True:
            with self._changed:
                if not self._jobs:
                    while self._running:
                        self._changed.wait()
                    return
                _, job = self._jobs.popleft()
                self._running += 1
            self._run(job)

    def _work(self) -> None:
        while True:
            with self._changed:
                while not self._jobs:
                    self._changed.wait()
                wait = self._jobs[0][0] - time.monotonic()
                if wait > 0:
                    self._changed.wait(wait)
                    continue
                _, job = self._jobs.popleft()
                self._running += 1
            self._run(job)

    def _run(self, job: Job) -> None:
        try:
            job()
        except Exception:  # a trace must never take the writer (or a run) down
            log.warning("could not store a trace", exc_info=True)
        finally:
            with self._changed:
                self._running -= 1
                self._changed.notify_all()


_writer = TraceWriter()
atexit.register(_writer.flush)


def submit_trace_write(job: Job) -> None:
    _writer.submit(job)


def schema_ready(url: str) -> bool:
    """Bring the trace database to head on the caller's thread, before handing it a trace.

    A first write in a fresh database migrates it; on the writer thread that migration would
    run alongside the caller's own database work (it made a resumed job's checkpoint write
    time out under load). False, with a warning, when the database cannot be reached: the
    trace is dropped, the traced work goes on.
    """
    from app.db.migrate import ensure_schema

    try:
        ensure_schema(url)
    except Exception:  # tracing must never fail the run it observes
        log.warning("trace store unavailable; trace not stored", exc_info=True)
        return False
    return True


def flush_trace_writes() -> None:
    """Wait until traces handed to the writer are stored (before reading them back)."""
    _writer.flush()

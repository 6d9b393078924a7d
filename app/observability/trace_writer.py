"""Store finished traces off the caller's path: one daemon thread, a queue, flush on demand.

A workflow run should not wait for its trace to be checked for secrets, serialised and
committed (about 2 ms for a 100-step run). The run hands a JSON snapshot to this
writer and returns; the trace id is fixed up front, so results can name it at once. Readers in
the same process (`list_traces`, `get_trace`, the CLI, the API) call `flush_trace_writes` first,
and the process flushes at exit, so a finished command never leaves its trace unwritten. A
process killed with SIGKILL loses the traces still queued (at most those of the last moments).
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

Job = Callable[[], object]


class TraceWriter:
    """Runs trace-storing jobs in order on one background thread, started on first use."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[Job] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, job: Job) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._work, name="flowwright-trace-writer", daemon=True
                )
                self._thread.start()
        self._jobs.put(job)

    def flush(self) -> None:
        """Block until every job submitted so far has run."""
        if self._thread is not None:
            self._jobs.join()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                job()
            except Exception:  # a trace must never take the writer (or a run) down
                log.warning("could not store a trace", exc_info=True)
            finally:
                self._jobs.task_done()


def yield_gil() -> None:
    """Let a thread waiting for the GIL (a run finishing, a request) go before the writer goes on.

    `time.sleep(0)` releases the GIL long enough (tens of microseconds) for a waiting thread to
    take it; `os.sched_yield` is cheaper but returns before the other thread is scheduled, so
    the writer usually takes the GIL straight back (measured: callers waited longer).
    """
    time.sleep(0)


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

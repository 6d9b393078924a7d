"""The trace writer: traces are stored later by a daemon thread, or at once by whoever flushes."""

from __future__ import annotations

import threading
import time

import pytest

from app.observability.trace_writer import TraceWriter


def test_the_daemon_stores_a_trace_after_the_delay() -> None:
    writer, done = TraceWriter(delay_s=0.05), threading.Event()
    started = time.monotonic()
    writer.submit(done.set)
    assert done.wait(5)
    assert time.monotonic() - started >= 0.05  # not while the caller is still busy


def test_flush_runs_waiting_traces_on_the_callers_thread_in_order() -> None:
    writer, ran = TraceWriter(delay_s=60), []
    for n in range(3):
        writer.submit(lambda n=n: ran.append((n, threading.current_thread().name)))
    writer.flush()
    assert ran == [(n, threading.current_thread().name) for n in range(3)]


def test_flush_waits_for_the_trace_the_daemon_is_storing() -> None:
    writer, started, release = TraceWriter(delay_s=0), threading.Event(), threading.Event()
    stored: list[str] = []

    def slow() -> None:
        started.set()
        release.wait(5)
        stored.append("slow")

    writer.submit(slow)
    assert started.wait(5)  # the daemon has it in hand
    threading.Timer(0.2, release.set).start()
    writer.flush()
    assert stored == ["slow"]


def test_a_failing_trace_is_logged_and_the_next_is_stored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    writer, stored = TraceWriter(delay_s=60), []

    def broken() -> None:
        raise RuntimeError("disk full")

    writer.submit(broken)
    writer.submit(lambda: stored.append("next"))
    with caplog.at_level("WARNING"):
        writer.flush()
    assert stored == ["next"]
    assert any("could not store a trace" in r.getMessage() for r in caplog.records)

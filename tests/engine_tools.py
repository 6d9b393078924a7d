"""Tools for engine tests: they sleep, fail on cue and log their calls to a file.

Importable from a subprocess (the crash/resume test), so they live in a module, not a fixture.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from typing_extensions import TypedDict

from app.errors import ToolInputError, TransientToolError
from app.tools.base import SideEffect, flow_tool
from app.tools.registry import Catalog

_lock = threading.Lock()
_active = 0
peak_active = 0
intervals: dict[str, tuple[float, float]] = {}
flaky_calls: dict[str, int] = {}


def _log(name: str) -> None:
    path = os.environ.get("ENGINE_TEST_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(name + "\n")
            fh.flush()
            os.fsync(fh.fileno())


@flow_tool(category="test", side_effect=SideEffect.PURE)
def nap(label: str, seconds: float = 0.0) -> dict[str, Any]:
    """Sleep, record when it ran, and return the label."""
    global _active, peak_active
    with _lock:
        _active += 1
        peak_active = max(peak_active, _active)
    start = time.perf_counter()
    time.sleep(seconds)
    with _lock:
        _active -= 1
    intervals[label] = (start, time.perf_counter())
    _log(label)
    return {"label": label, "n": len(label)}


@flow_tool(category="test", side_effect=SideEffect.PURE)
def flaky(key: str, failures: int, kind: str = "transient") -> str:
    """Fail `failures` times (transient or input errors), then succeed."""
    flaky_calls[key] = flaky_calls.get(key, 0) + 1
    if flaky_calls[key] <= failures:
        if kind == "transient":
            raise TransientToolError("upstream returned 503")
        raise ToolInputError("bad argument")
    return f"ok after {flaky_calls[key]}"


@flow_tool(category="test", side_effect=SideEffect.PURE)
def echo(value: Any) -> Any:
    """Return the value unchanged."""
    return value


class Recorded(TypedDict):
    path: str
    bytes: int


@flow_tool(category="test", side_effect=SideEffect.WRITES)
def record(path: str, text: str) -> Recorded:
    """Append a line to a file (a side effect a dry run must not perform)."""
    with Path(path).open("a", encoding="utf-8") as fh:
        fh.write(text + "\n")
    _log(f"record:{text}")
    return {"path": path, "bytes": len(text) + 1}


@flow_tool(category="test", side_effect=SideEffect.PURE)
def wait_for_file(path: str, label: str) -> str:
    """Block until `path` exists (lets a test kill the process while a step is running)."""
    _log(f"started:{label}")
    while not Path(path).exists():
        time.sleep(0.02)
    _log(label)
    return label


def catalog() -> Catalog:
    return Catalog([nap, flaky, echo, record, wait_for_file])


def reset() -> None:
    global peak_active, _active
    peak_active = _active = 0
    intervals.clear()
    flaky_calls.clear()

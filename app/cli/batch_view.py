"""The progress bar of `flowwright run --batch`: rows done, rows/s, ETA, ok/failed/skipped counts.

Only rich is imported here (not the engine), so importing the CLI stays fast; the callback it
yields takes the engine's `BatchProgress` reports.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

if TYPE_CHECKING:
    from app.engine.batch import BatchProgress


class RowsPerSecondColumn(ProgressColumn):
    """Rows per second, averaged by rich over the recent updates."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("– rows/s" if speed is None else f"{speed:,.0f} rows/s", style="cyan")


def _counts(task: Task) -> str:
    fields = task.fields
    text = f"[green]{fields.get('succeeded', 0)} ok[/] · "
    failed = fields.get("failed", 0)
    text += f"[red]{failed} failed[/]" if failed else "0 failed"
    already = fields.get("already_done", 0)
    return text + (f" · {already} already done" if already else "")


class _CountsColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text.from_markup(_counts(task))


@contextmanager
def batch_progress(
    total: int | None, *, console: Console | None = None
) -> Iterator[Callable[[BatchProgress], None]]:
    """A live progress bar for a batch; yields the `on_progress` callback for `run_batch`.

    Rows done by an earlier session (resume) fill the bar at the first report without counting
    towards the rate, so rows/s and the ETA describe this session's work only.
    """
    console = console or Console(file=sys.stderr)
    progress = Progress(
        TextColumn("[bold]batch"),
        BarColumn(),
        MofNCompleteColumn(),
        RowsPerSecondColumn(),
        TimeRemainingColumn(),
        _CountsColumn(),
        console=console,
        transient=False,
    )
    with progress:
        task = progress.add_task("batch", total=total, succeeded=0, failed=0, already_done=0)
        started = False

        def on_progress(update: BatchProgress) -> None:
            nonlocal started
            counts = {
                "succeeded": update.succeeded,
                "failed": update.failed,
                "already_done": update.already_done,
            }
            completed = update.already_done + update.done
            if not started:  # reset clears rate samples: rows done earlier do not count as speed
                started = True
                progress.reset(task, total=update.total or total, completed=completed, **counts)
                return
            progress.update(task, completed=completed, **counts)

        yield on_progress
        progress.refresh()

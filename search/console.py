"""Where output goes: logs and live progress on stderr, tables and results on stdout."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress

__all__ = ["console", "log", "stdout", "step"]

console = Console(stderr=True, highlight=False, soft_wrap=True)  # logs and live progress
# tables and results; wide when piped to a file, where nothing wraps them again
stdout = Console(highlight=False, width=None if sys.stdout.isatty() else 240)


def log(message: str) -> None:
    console.print(message)


@contextmanager
def step(description: str) -> Iterator[Callable[[int, int], None]]:
    """A step that takes a while, shown from its first report: the block reports
    `(done, total)` to the callable it gets, (0, total) as the work starts (its inputs read and
    checked). On a terminal a live bar; elsewhere (a log) a line then. Either way, a line with
    its time as it ends."""
    bars = Progress(console=console, transient=True) if console.is_terminal else None
    task, started = None, None

    def report(done: int, total: int) -> None:
        nonlocal task, started
        if started is None:
            started = time.monotonic()
            if bars:
                bars.start()
                task = bars.add_task(description, total=total)
            else:
                log(f"{description} ...")
        if bars and task is not None:
            bars.update(task, completed=done, total=total)

    try:
        yield report
    finally:
        if bars:
            bars.stop()
    if started is not None:
        log(f"{description}: done in {time.monotonic() - started:.1f} s")

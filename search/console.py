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
    """A step that takes a while, shown as it goes: the block reports `(done, total)` to the
    callable it gets, (0, total) once its inputs are read and checked. On a terminal a live bar;
    elsewhere (a log) a line at that first report. A line with its time as it ends."""
    started = time.monotonic()
    if console.is_terminal:
        with Progress(console=console, transient=True) as bars:  # bar, %, time remaining
            task = bars.add_task(description, total=None)
            yield lambda done, total: bars.update(task, completed=done, total=total)
    else:
        said = False

        def report(done: int, total: int) -> None:
            nonlocal said
            if not said:
                log(f"{description} ...")
                said = True

        yield report
    log(f"{description}: done in {time.monotonic() - started:.1f} s")

"""Where output goes: logs and live progress on stderr, tables and results on stdout."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import Progress

if TYPE_CHECKING:
    from trainers.loop import Report  # a type only: this module loads no torch

__all__ = ["console", "epoch_lines", "epoch_progress", "log", "stdout", "step"]

SLOW_EPOCH_LINE_S = 60.0  # in a log, a long epoch says how far it is at most this often

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


@contextmanager
def epoch_progress(total: int) -> Iterator[Callable[[int, int, int], None]]:
    """How each epoch goes, batch by batch: the block reports `(epoch, images done, images in
    it)`. On a terminal a bar that lives for the epoch (the epoch's own line follows it); in a
    log, a line every SLOW_EPOCH_LINE_S seconds of an epoch that takes longer, so a slow device
    is never silent for minutes."""
    bars: Progress | None = None
    task, last = None, time.monotonic()

    def report(epoch: int, done: int, images: int) -> None:
        nonlocal bars, task, last
        if console.is_terminal:
            if bars is None:
                bars = Progress(console=console, transient=True)
                bars.start()
                task = bars.add_task(f"epoch {epoch}/{total}", total=images)
            bars.update(task, completed=done)
            if done >= images:
                bars.stop()
                bars = None
        elif done >= images:
            last = time.monotonic()
        elif time.monotonic() - last >= SLOW_EPOCH_LINE_S:
            last = time.monotonic()
            log(f"epoch {epoch}/{total}: {done:,} of {images:,} images")

    try:
        yield report
    finally:
        if bars is not None:
            bars.stop()


def epoch_lines(total: int) -> Report:
    """A trainer's `report` that logs each epoch's line: its losses, validation accuracy,
    images/s and the time left at its pace (an epoch replayed from a checkpoint says so)."""
    last = time.monotonic()  # when the last epoch ended (at first: when the run began)

    def report(epoch: int, value: float, /, **metrics: float) -> None:
        nonlocal last
        val = "" if math.isnan(value) else f"  val acc {value:.4f}"
        now, speed = time.monotonic(), metrics.get("images_per_s")  # None: a replayed epoch
        left = timedelta(seconds=round((now - last) * (total - epoch)))
        last = now
        pace = "  (from the checkpoint)" if speed is None else f"  {speed:,.0f} img/s  {left} left"
        log(f"epoch {epoch}/{total}  train loss {metrics.get('train_loss', math.nan):.4f}"
            f"{val}{pace}")  # fmt: skip

    return report

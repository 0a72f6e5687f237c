"""Ctrl-C and SIGTERM during a run, at whatever moment they come.

Both raise KeyboardInterrupt in the driver's main thread (`raising`), except inside `held()`
blocks: the steps that must not be cut in two (a trial created with its first heartbeat, a result
told with its retry queued) finish first, and the interrupt is raised as the block ends. So no
interrupt leaves a trial RUNNING that no heartbeat speaks for.

Nor is it raised where Python would swallow it (a `__del__` or a weakref callback, which print
"Exception ignored" and carry on) or inside SQLAlchemy (which logs the cursor it could not
close, with a traceback): it waits for the next block's end or `check()`.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["check", "exit_code", "held", "raising"]

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Held:
    depth = 0  # held() blocks entered and not yet left
    signal: int | None = None  # a signal that came while held, raised when the last block ends
    raised: int = SIGNALS[0]  # the signal that raised the last KeyboardInterrupt (SIGINT)


_held = _Held()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    if _held.depth or _unsafe(frame):
        _held.signal = signum
        return
    _held.raised = signum
    raise KeyboardInterrupt


def _unsafe(frame: FrameType | None) -> bool:
    """Whether the main thread is in a finaliser or a database call."""
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if (
            frame.f_code.co_name == "__del__"
            or module == "weakref"
            or module.startswith("sqlalchemy")
        ):
            return True
        frame = frame.f_back
    return False


def check() -> None:
    """Raise an interrupt that came where it could not be raised at once."""
    if not _held.depth and _held.signal is not None:
        _held.raised, _held.signal = _held.signal, None
        raise KeyboardInterrupt


def exit_code() -> int:
    """A process's exit code for an interrupt, as a shell gives it: 128 + the signal that
    raised it (130 for Ctrl-C and a KeyboardInterrupt no signal of ours raised, 143 for
    SIGTERM)."""
    return 128 + _held.raised


@contextmanager
def raising() -> Iterator[None]:
    """SIGINT and SIGTERM raise KeyboardInterrupt for the block, held inside `held()` blocks,
    unless the process was started with them ignored.

    Outside the main thread (where Python runs no signal handlers) it changes nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _held.raised = signal.SIGINT
    previous = {
        signum: signal.signal(signum, _interrupt)
        for signum in SIGNALS
        if signal.getsignal(signum) is not signal.SIG_IGN  # as Python does for SIGINT: a
    }  # signal ignored by whoever started the run (a shell's background job, nohup) stays so
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _held.signal = None


@contextmanager
def held() -> Iterator[None]:
    """An interrupt that comes during the block is raised when the block ends."""
    _held.depth += 1
    try:
        yield
    finally:
        _held.depth -= 1
    check()

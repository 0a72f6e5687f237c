"""Where output goes: logs and live progress on stderr, tables and results on stdout."""

from __future__ import annotations

import sys

from rich.console import Console

__all__ = ["console", "log", "stdout"]

console = Console(stderr=True, highlight=False, soft_wrap=True)  # logs and live progress
# tables and results; wide when piped to a file, where nothing wraps them again
stdout = Console(highlight=False, width=None if sys.stdout.isatty() else 240)


def log(message: str) -> None:
    console.print(message)

"""`search spaces`: what can be searched."""

from __future__ import annotations

from search.console import stdout
from search.views.spaces import describe_spaces

__all__ = ["spaces"]


def spaces() -> None:
    """Registered search spaces and what each samples."""
    stdout.print(describe_spaces())

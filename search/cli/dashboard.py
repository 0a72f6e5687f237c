"""`search dashboard`: the live view of a run in the browser."""

from __future__ import annotations

from typing import Annotated

import typer

from search.cli.options import Storage
from search.views.dashboard import serve_dashboard

__all__ = ["dashboard"]


def dashboard(
    study: Annotated[str | None, typer.Option(help="Open this study's page.")] = None,
    storage: Storage = None,
    host: Annotated[str, typer.Option(help="Address to listen on; loopback by default.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
) -> None:
    """Serve optuna-dashboard on the storage the runs use."""
    serve_dashboard(storage, study, host, port)

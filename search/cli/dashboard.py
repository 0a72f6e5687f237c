"""`search dashboard`: the live view of a run in the browser."""

from __future__ import annotations

from typing import Annotated

import typer

from errors import UserError
from search.cli.options import Storage

__all__ = ["dashboard"]

MAX_PORT = 65535


def dashboard(
    study: Annotated[
        str | None,
        typer.Option(help="Open this study's page. [default: the list of studies]"),
    ] = None,
    storage: Storage = None,
    host: Annotated[str, typer.Option(help="Address to listen on; loopback by default.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port to listen on; 0 = any free one.")] = 8080,
) -> None:
    """Serve optuna-dashboard on the storage the runs use."""
    from search.views.dashboard import serve_dashboard  # optuna-dashboard: only when served

    if not 0 <= port <= MAX_PORT:
        raise UserError(f"--port must be 1 to {MAX_PORT} (or 0: any free port), got {port}")
    serve_dashboard(storage, study, host, port)

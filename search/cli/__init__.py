"""The `search` command: one module per command group, each command a thin typed function.

    run, status, export, report      search.cli.study
    train, evaluate, predict, params search.cli.model
    dashboard                        search.cli.dashboard
    spaces                           search.cli.spaces

`main` is the one boundary where the project's UserError becomes a one-line message and exit 2.
"""

from __future__ import annotations

import sys
import warnings
from typing import Annotated

import optuna
import typer

from errors import UserError
from search.cli import dashboard, model, spaces, study

__all__ = ["app", "main"]

app = typer.Typer(
    help="Find the best CIFAR-10 ResNet under a parameter budget (Optuna + Ray).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
for command in (
    study.run, study.status, study.export, model.params, dashboard.dashboard, study.report,
    model.train, model.evaluate, model.predict, spaces.spaces,
):  # fmt: skip
    app.command()(command)
_debug = False


@app.callback()
def _options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
) -> None:
    global _debug
    _debug = debug


def main() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    try:
        app()
    except UserError as err:
        if _debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)

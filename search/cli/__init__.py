"""The `search` command: one module per command group, each command a thin typed function.

    run, status, export, report      search.cli.study
    train, evaluate, predict, params search.cli.model
    dashboard                        search.cli.dashboard
    spaces, zoo                      search.cli.spaces

`main` is the one boundary where the project's UserError, and a usage error (an unknown option, a
value of the wrong type), become a one-line message and exit 2. The command modules import what a
command runs in its body: `search --help` loads no Optuna, torch or Ray (tests/test_startup.py).
"""

from __future__ import annotations

import errno
import sys
import traceback
import warnings
from typing import Annotated

import typer
from typer._click import exceptions as click  # Typer vendors Click; no public name

from errors import UserError
from search.cli import dashboard, model, spaces, study
from search.cli.helptext import Command, Group
from search.interrupts import exit_code

__all__ = ["app", "main"]

app = typer.Typer(
    help="Find the best CIFAR-10 ResNet under a parameter budget (Optuna + Ray).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=Group,
)
for command in (
    study.run, study.status, study.export, model.params, dashboard.dashboard, study.report,
    model.train, model.evaluate, model.predict, spaces.spaces, spaces.zoo,
):  # fmt: skip
    app.command(cls=Command)(command)
_debug = False
WITHOUT_OPTUNA = ("params", "train", "evaluate", "predict")  # need a config, not a study


@app.callback()
def _options(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
) -> None:
    global _debug
    _debug = debug
    if ctx.invoked_subcommand not in WITHOUT_OPTUNA:
        _quiet_optuna()


def _quiet_optuna() -> None:
    """Optuna's warnings only: no INFO line per study or trial, no ExperimentalWarning."""
    import optuna  # half a second: not for `search --help` or the commands that need no study

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def main() -> None:
    try:
        code = app(prog_name="search", standalone_mode=False)  # usage errors: said in one line
    except click.NoArgsIsHelpError as err:
        err.show()  # `search` alone, or a group without its command: the help
        sys.exit(err.exit_code)
    except (click.ClickException, UserError, OSError) as err:
        if isinstance(err, OSError) and err.errno != errno.ENAMETOOLONG:
            raise  # the machine's fault, not a path given: a name too long is the user's
        if _debug:  # the traceback, then the line and the exit code as without --debug
            traceback.print_exc()
        print(f"error: {_one_line(err)}", file=sys.stderr)
        sys.exit(2)
    except (KeyboardInterrupt, typer.Abort):
        code = 130
    if code == 130:  # Typer turns a KeyboardInterrupt into exit code 130
        code = exit_code()  # 143 where SIGTERM raised it
        print("interrupted", file=sys.stderr)
    sys.exit(code if isinstance(code, int) else 0)


def _one_line(err: click.ClickException | UserError | OSError) -> str:
    """The error as one line (a message may quote a user's own exception, newlines and all);
    a usage error points at the command's help."""
    if isinstance(err, OSError):  # Path.exists() raises it (Python 3.11) for any path given
        return f"{err.filename}: a name in it is too long; allowed: names of at most 255 bytes"
    if isinstance(err, UserError):
        return " ".join(str(err).split())
    message = " ".join(err.format_message().split())
    command = err.ctx.command_path if isinstance(err, click.UsageError) and err.ctx else "search"
    return f"{message} (see `{command} --help`)"

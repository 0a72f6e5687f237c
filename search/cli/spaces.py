"""`search spaces` and `search zoo`: what can be searched, and the published designs tried first."""

from __future__ import annotations

from typing import Annotated

import typer

from search.console import stdout
from search.options import DEFAULT_BUDGET, check_budget

__all__ = ["spaces", "zoo"]


def spaces() -> None:
    """Registered search spaces and what each samples."""
    from search.views.spaces import describe_spaces  # Optuna: loaded to probe the spaces

    stdout.print(describe_spaces())


def zoo(
    budget: Annotated[int, typer.Option(help="Parameter budget the designs must fit.")] = (
        DEFAULT_BUDGET
    ),
) -> None:
    """Published designs a new resnet_budget study tries first: counts, recipes, fit."""
    from search.views.spaces import zoo_table

    check_budget(budget)
    stdout.print(zoo_table(budget))

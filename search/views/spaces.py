"""`search spaces`: each registered space and the distributions it samples, found by running it."""

from __future__ import annotations

import inspect

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from rich.table import Table

from spaces import Space, probe, registered

__all__ = ["describe_spaces", "sampled_distributions"]


def sampled_distributions(space: Space, probes: int = 100) -> dict[str, BaseDistribution]:
    """Every parameter `space` samples in `probes` random trials (conditional ones included)."""
    found: dict[str, BaseDistribution] = {}
    for trial, _ in probe(space, probes):
        found.update(trial.distributions)
    return found


def _describe(d: BaseDistribution) -> str:
    if isinstance(d, CategoricalDistribution):
        return "{" + ", ".join(map(str, d.choices)) + "}"
    if isinstance(d, IntDistribution | FloatDistribution):
        scale = " log" if d.log else ""
        return f"{d.low:g} to {d.high:g}{scale}"
    return repr(d)


def describe_spaces() -> Table:
    table = Table(title="search spaces", title_justify="left", show_lines=True)
    table.add_column("space")
    table.add_column("what it searches")
    table.add_column("parameters sampled")
    for name, space in sorted(registered().items()):
        summary = (inspect.getdoc(space) or "").splitlines()[0:1]
        params = sampled_distributions(space)
        lines = [f"{key}: {_describe(d)}" for key, d in params.items()]
        table.add_row(name, " ".join(summary), "\n".join(lines))
    return table

"""`search spaces`: each registered space and the distributions it samples, found by running it;
`search zoo`: the published designs a new `resnet_budget` study tries first."""

from __future__ import annotations

import inspect

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from rich.table import Table

from search.views.model import describe_model
from spaces import Space, designs_within, probe, registered
from spaces.resnet_budget import MIN_FRACTION

__all__ = ["describe_spaces", "sampled_distributions", "zoo_table"]


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


def _recipe(config: dict) -> str:
    optim, schedule, augment = config["optim"], config["schedule"], config["augment"]
    nesterov = " nesterov" if optim["nesterov"] and optim["optimizer"] == "sgd" else ""
    said = [f"{optim['optimizer']}{nesterov} {optim['lr']:g}", f"wd {optim['weight_decay']:g}",
            f"batch {optim['batch_size']}", schedule["name"]]  # fmt: skip
    if schedule["name"] == "cosine" and schedule["warmup"]:
        said[-1] += f" (warm-up {schedule['warmup']:g})"
    if schedule["name"] == "step":
        said[-1] += f" x{schedule['gamma']:g} at {'/'.join(map(str, schedule['milestones']))}"
    extras = {"dropout": config["model"]["dropout"], "ls": optim["label_smoothing"],
              "cutmix": augment["cutmix_prob"], "mixup": augment["mixup_prob"]}  # fmt: skip
    said += [f"{k} {v:g}" for k, v in extras.items() if v]
    if augment["policy"] != "none":
        said.append(augment["policy"])
    return ", ".join(said)


def zoo_table(budget: int) -> Table:
    """The zoo: each design's exact count, model, recipe and whether (in what order) a study at
    `budget` tries it."""
    table = Table(title=f"published designs, tried first at budget {budget:,}",
                  title_justify="left")  # fmt: skip
    for name in ("design", "params", "tried", "model", "recipe", "source"):
        table.add_column(name, justify="right" if name == "params" else "left")
    fit, others = designs_within(budget)
    for design in fit + others:  # in the order a study tries them
        n = design.n_params
        tried = (f"{fit.index(design) + 1} of {len(fit)}" if design in fit
                 else "over budget" if n > budget else f"< {MIN_FRACTION:.0%}")  # fmt: skip
        config = design.config().to_dict()
        table.add_row(design.name, f"{n:,}", tried, describe_model(config), _recipe(config),
                      design.source)  # fmt: skip
    return table

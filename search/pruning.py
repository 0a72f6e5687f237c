"""The multi-fidelity pruners a study can run with; the resource is the epoch."""

from __future__ import annotations

from collections.abc import Callable

import optuna
from optuna.pruners import BasePruner

from errors import UserError

__all__ = ["PRUNERS", "check_pruner", "make_pruner"]

_FACTORIES: dict[str, Callable[[int], BasePruner]] = {
    # asynchronous successive halving: at epochs 1, 3, 9, 27 only the best third of the trials
    # that got there go on
    "sha": lambda epochs: optuna.pruners.SuccessiveHalvingPruner(
        min_resource=1, reduction_factor=3
    ),
    # several such brackets with later first rungs; Optuna shows the sampler only the trials of
    # the bracket at hand, so TPE learns from a fraction of the study
    "hyperband": lambda epochs: optuna.pruners.HyperbandPruner(
        min_resource=1, max_resource=epochs, reduction_factor=3
    ),
    "median": lambda epochs: optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1),
    "none": lambda epochs: optuna.pruners.NopPruner(),
}
PRUNERS = tuple(_FACTORIES)  # the names --pruner takes, the default first


def check_pruner(name: str) -> None:
    """UserError unless `name` is one of PRUNERS."""
    if name not in _FACTORIES:
        raise UserError(f"unknown pruner {name!r}; allowed: {', '.join(PRUNERS)}")


def make_pruner(name: str, epochs: int) -> BasePruner:
    """The pruner `name` for trials of `epochs` epochs."""
    check_pruner(name)
    return _FACTORIES[name](epochs)

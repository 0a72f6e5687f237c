"""The sampler and the multi-fidelity pruners a study runs with."""

from __future__ import annotations

import optuna
from optuna.pruners import BasePruner

from trainers import UserError

__all__ = ["PRUNERS", "make_pruner", "make_sampler"]

PRUNERS = ("sha", "hyperband", "median", "none")


def make_pruner(name: str, epochs: int) -> BasePruner:
    """The multi-fidelity pruner `name`, its resource being the epoch.

    sha (the default) is asynchronous successive halving: at epochs 1, 3, 9, 27 only the best
    third of the trials that got there go on. hyperband runs several such brackets with later
    first rungs, but shows the sampler only the trials of the bracket at hand, so TPE learns
    from a fraction of the study (Optuna's HyperbandPruner design).
    """
    if name == "sha":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=epochs, reduction_factor=3
        )
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise UserError(f"unknown pruner {name!r}; allowed: {', '.join(PRUNERS)}")


def make_sampler(seed: int | None = None) -> optuna.samplers.BaseSampler:
    """Multivariate TPE; it learns the budget from the constraint each trial records, and with
    its constant liar (on by default) spreads the trials that run at once."""
    return optuna.samplers.TPESampler(seed=seed, multivariate=True)

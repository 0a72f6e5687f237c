"""The multi-fidelity pruners a study can run with; the resource is the epoch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from errors import UserError

if TYPE_CHECKING:
    from optuna.pruners import BasePruner

__all__ = ["PRUNERS", "check_pruner", "make_pruner"]

PRUNERS = ("sha", "hyperband", "median", "none")  # the names --pruner takes, the default first


def check_pruner(name: str) -> None:
    """UserError unless `name` is one of PRUNERS."""
    if name not in PRUNERS:
        raise UserError(f"unknown pruner {name!r}; allowed: {', '.join(PRUNERS)}")


def make_pruner(name: str, epochs: int) -> BasePruner:
    """The pruner `name` for trials of `epochs` epochs."""
    check_pruner(name)
    from optuna import pruners  # imported by the study that prunes, not by `search --help`

    if name == "sha":  # asynchronous successive halving: at epochs 1, 3, 9, 27 only the best
        return pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)  # third go on
    if name == "hyperband":  # several such brackets with later first rungs; Optuna shows the
        # sampler only the trials of the bracket at hand, so TPE learns from a fraction of them
        return pruners.HyperbandPruner(min_resource=1, max_resource=epochs, reduction_factor=3)
    if name == "median":
        return pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    return pruners.NopPruner()

"""The multi-fidelity pruners a study can run with; the resource is the epoch.

No pruner may stop a trial before its first rung: the fraction of training from which a config's
validation accuracy was measured to rank configs as they end up (RANK_CORRELATION).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from errors import UserError

if TYPE_CHECKING:
    from optuna.pruners import BasePruner

__all__ = [
    "MIN_RANK_CORRELATION",
    "PRUNERS",
    "RANK_CORRELATION",
    "REDUCTION_FACTOR",
    "check_pruner",
    "describe_pruner",
    "first_rung",
    "make_pruner",
    "rungs",
]

# Spearman rank correlation of 15 configs' validation accuracy after epoch k with their accuracy
# after epoch 20, for epoch k: 1 ... 15 of 20.
RANK_CORRELATION: dict[int, float] = {1: 0.72, 3: 0.81, 10: 0.88, 15: 0.97}
RANK_CORRELATION_EPOCHS = 20  # the epochs of the measured runs
# (issue 14: learning curves of 15 varied configs trained 20 epochs on all training images on
# one H100, measured by the author, not re-measured here)
MIN_RANK_CORRELATION = 0.8  # no pruning where the ranking agrees less with the final one
# Each rung keeps the best third. At a first rung of 15% of training the next is at 45%, between
# the measured 0.81 (15%) and 0.88 (50%), and there is no third before 135%: every rung is where
# the ranking held. The measurement says where, not how many configs to keep, so 3 stays.
REDUCTION_FACTOR = 3
MEDIAN_STARTUP_TRIALS = 5


def _first_trusted_epoch() -> int:
    """The earliest measured epoch whose ranking held (rank correlation >= the minimum)."""
    return min(k for k, rho in RANK_CORRELATION.items() if rho >= MIN_RANK_CORRELATION)


def first_rung(epochs: int) -> int:
    """The first epoch at which a pruner may stop a trial of `epochs` epochs: the first trusted
    epoch's fraction of the measured runs (3 of 20: 15%) of `epochs`, rounded up, at least 1.
    30 epochs: 5; 20: 3; 2: 1."""
    fraction_num, fraction_den = _first_trusted_epoch(), RANK_CORRELATION_EPOCHS
    return max(1, -(-fraction_num * epochs // fraction_den))  # ceil in integers: no 4.5000001


def rungs(epochs: int) -> list[int]:
    """The epochs at which successive halving decides, before the last (which never prunes)."""
    found, rung = [], first_rung(epochs)
    while rung < epochs:
        found.append(rung)
        rung *= REDUCTION_FACTOR
    return found


PRUNERS = ("sha", "hyperband", "median", "none")  # the names --pruner takes, the default first


def check_pruner(name: str) -> None:
    """UserError unless `name` is one of PRUNERS."""
    if name not in PRUNERS:
        raise UserError(f"unknown pruner {name!r}; allowed: {', '.join(PRUNERS)}")


def make_pruner(name: str, epochs: int) -> BasePruner:
    """The pruner `name` for trials of `epochs` epochs."""
    check_pruner(name)
    from optuna import pruners  # imported by the study that prunes, not by `search --help`

    first = first_rung(epochs)
    if name == "sha":  # asynchronous successive halving: at each rung the best third go on
        return pruners.SuccessiveHalvingPruner(
            min_resource=first, reduction_factor=REDUCTION_FACTOR
        )
    if name == "hyperband":  # several such brackets, the first starting at the first rung;
        # Optuna shows the sampler only the trials of the bracket at hand, so TPE learns from a
        # fraction of the study
        return pruners.HyperbandPruner(
            min_resource=first, max_resource=epochs, reduction_factor=REDUCTION_FACTOR
        )
    if name == "median":  # below the median of earlier trials at the same epoch, from the
        # first rung on
        return pruners.MedianPruner(n_startup_trials=MEDIAN_STARTUP_TRIALS, n_warmup_steps=first)
    return pruners.NopPruner()


def describe_pruner(name: str, epochs: int) -> str:
    """E.g. "sha: stops trials at epochs 5, 15 of 30, keeping the best third at each"."""
    check_pruner(name)
    first = first_rung(epochs)
    if name == "none" or epochs <= first:
        return f"{name}: every trial trains its {epochs} epoch{'s' * (epochs != 1)}"
    if name == "median":
        return f"median: from epoch {first} of {epochs}, stops trials below the median"
    if name == "hyperband":
        return f"hyperband: brackets of successive halving, the earliest stopping at epoch {first}"
    at = ", ".join(map(str, rungs(epochs)))
    return f"sha: stops trials at epochs {at} of {epochs}, keeping the best third at each"

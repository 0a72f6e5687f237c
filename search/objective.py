"""One trial: sample a config, count it, reject it if over budget, else train it and report.

Only this module turns the trainer's `report(epoch, value)` into `trial.report` and pruning.
Sampling (`sample`) runs where the study's sampler is; training (`train_trial`) runs wherever
the trial is scheduled, in-process or in a Ray worker, on an `optuna.Trial` of the same study.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import optuna
from optuna.trial import FrozenTrial, TrialState

from search.fidelity import Fidelity
from spaces import Space, call_space
from trainers import (
    DivergedError,
    Metrics,
    Report,
    TrainConfig,
    count_params,
    describe_device,
    resolve_device,
)

__all__ = [
    "BUDGET",
    "Listener",
    "Outcome",
    "is_budget_rejected",
    "is_trained",
    "sample",
    "train_trial",
    "trained_count",
]

BUDGET = "budget"  # name of the constraint n_params - budget, feasible when <= 0


def is_budget_rejected(trial: FrozenTrial) -> bool:
    """Whether the trial was pruned for being over budget, before any training."""
    return trial.constraints.get(BUDGET, 0.0) > 0


def is_trained(trial: FrozenTrial) -> bool:
    """Finished training: COMPLETE, or PRUNED by the fidelity pruner (not by the budget)."""
    if trial.state == TrialState.COMPLETE:
        return True
    return trial.state == TrialState.PRUNED and not is_budget_rejected(trial)


def trained_count(trials: Sequence[FrozenTrial]) -> int:
    return sum(is_trained(t) for t in trials)


def sample(trial: optuna.Trial, space: Space, fidelity: Fidelity, budget: int) -> TrainConfig:
    """The trial's config at the study's fidelity, recorded with its parameter count.

    Raises TrialPruned, before anything is built or read, if the model is over `budget`.
    """
    config = fidelity.apply(call_space(space, trial))
    n_params = count_params(config.model)
    trial.set_user_attr("n_params", n_params)
    trial.set_user_attr("config", config.to_dict())
    trial.set_constraint(BUDGET, n_params - budget)
    if n_params > budget:
        reason = f"budget: {n_params:,} > {budget:,} parameters"
        trial.set_user_attr("pruned_reason", reason)
        raise optuna.TrialPruned(reason)
    return config


class Listener(Protocol):
    """Hears what trials do, to show it (see search.progress)."""

    def trial_started(self, number: int, n_params: int, epochs: int) -> None: ...

    def trial_epoch(self, number: int, epoch: int, value: float, images_per_s: float) -> None: ...


@dataclass(frozen=True)
class Outcome:
    """How a trial's training ended, for the driver to tell the study."""

    state: TrialState  # COMPLETE, PRUNED or FAIL
    value: float | None = None  # validation accuracy, when COMPLETE
    reason: str = ""  # why, when PRUNED or FAIL


def train_trial(
    trial: optuna.Trial,
    config: TrainConfig,
    train_fn: Callable[..., Metrics],
    train_kwargs: dict[str, Any],
    listener: Listener | None = None,
) -> Outcome:
    """Train a sampled trial, reporting each epoch to it; pruning and divergence end it."""
    device = resolve_device(train_kwargs.get("device"))
    trial.set_user_attr("device", describe_device(device))
    if listener:
        listener.trial_started(trial.number, count_params(config.model), config.epochs)
    try:
        metrics = train_fn(config, _reporter(trial, config.epochs, listener), **train_kwargs)
    except optuna.TrialPruned as pruned:
        return Outcome(TrialState.PRUNED, reason=str(pruned))
    except DivergedError as err:
        reason = f"diverged: {err}"
        trial.set_user_attr("fail_reason", reason)
        return Outcome(TrialState.FAIL, reason=reason)
    for key in ("val_loss", "images_per_s", "wall_s", "precision"):
        trial.set_user_attr(key, getattr(metrics, key))
    return Outcome(TrialState.COMPLETE, metrics.val_accuracy)


def _reporter(trial: optuna.Trial, epochs: int, listener: Listener | None) -> Report:
    def report(epoch: int, value: float, /, **metrics: float) -> None:
        trial.report(value, epoch)
        images_per_s = metrics.get("images_per_s", math.nan)
        trial.set_user_attr("images_per_s", images_per_s)  # live, for progress and pruned trials
        if listener:
            listener.trial_epoch(trial.number, epoch, value, images_per_s)
        if epoch < epochs and trial.should_prune():  # a finished trial is never pruned
            trial.set_user_attr("val_loss", metrics.get("val_loss", math.nan))
            reason = f"pruner: validation accuracy {value:.4f} after epoch {epoch} of {epochs}"
            trial.set_user_attr("pruned_reason", reason)
            raise optuna.TrialPruned(reason)

    return report

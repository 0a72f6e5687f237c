"""The objective of a study: sample a config, count it, reject it if over budget, else train it.

Only this module turns the trainer's `report(epoch, value)` into `trial.report` and pruning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import optuna
from optuna.trial import FrozenTrial, TrialState

from search.fidelity import Fidelity
from spaces import Space, call_space
from trainers import DivergedError, Metrics, Report, count_params, train

__all__ = [
    "BUDGET",
    "Listener",
    "Objective",
    "is_budget_rejected",
    "is_trained",
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


class Listener(Protocol):
    """Hears what trials do, to show it (see search.progress)."""

    def trial_started(self, number: int, n_params: int, epochs: int) -> None: ...

    def trial_epoch(self, number: int, epoch: int, value: float, images_per_s: float) -> None: ...


@dataclass
class Objective:
    """`objective(trial) -> validation accuracy`, for `study.optimize`."""

    space: Space
    budget: int  # trainable parameters a model may have
    fidelity: Fidelity
    device: str  # where trials train, as `trainers.describe_device` names it
    train_fn: Callable[..., Metrics] = train  # `train(config, report, **train_kwargs)`
    train_kwargs: dict[str, Any] = field(default_factory=dict)
    listener: Listener | None = None

    def __call__(self, trial: optuna.Trial) -> float:
        config = self.fidelity.apply(call_space(self.space, trial))
        n_params = count_params(config.model)
        trial.set_user_attr("n_params", n_params)
        trial.set_user_attr("config", config.to_dict())
        trial.set_constraint(BUDGET, n_params - self.budget)
        if n_params > self.budget:
            reason = f"budget: {n_params:,} > {self.budget:,} parameters"
            trial.set_user_attr("pruned_reason", reason)
            raise optuna.TrialPruned(reason)
        trial.set_user_attr("device", self.device)
        if self.listener:
            self.listener.trial_started(trial.number, n_params, config.epochs)
        try:
            metrics = self.train_fn(config, self._reporter(trial), **self.train_kwargs)
        except DivergedError as err:
            trial.set_user_attr("fail_reason", f"diverged: {err}")
            raise
        for key in ("val_loss", "images_per_s", "wall_s", "precision"):
            trial.set_user_attr(key, getattr(metrics, key))
        return metrics.val_accuracy

    def _reporter(self, trial: optuna.Trial) -> Report:
        def report(epoch: int, value: float, /, **metrics: float) -> None:
            trial.report(value, epoch)
            images_per_s = metrics.get("images_per_s", float("nan"))
            if self.listener:
                self.listener.trial_epoch(trial.number, epoch, value, images_per_s)
            if epoch < self.fidelity.epochs and trial.should_prune():
                trial.set_user_attr("images_per_s", images_per_s)
                trial.set_user_attr("val_loss", metrics.get("val_loss", float("nan")))
                reason = (
                    f"pruner: validation accuracy {value:.4f} after epoch {epoch} "
                    f"of {self.fidelity.epochs}"
                )
                trial.set_user_attr("pruned_reason", reason)
                raise optuna.TrialPruned(reason)

        return report

"""One trial: sample a config, count it, reject it if over budget, else train it and report.

Only this module turns the trainer's `report(epoch, value)` into `trial.report` and pruning.
Sampling (`sample`) runs where the study's sampler is; training (`train_trial`) runs wherever
the trial is scheduled, in-process or in a Ray worker, on an `optuna.Trial` of the same study.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import optuna
import torch
from optuna.trial import FrozenTrial, TrialState

from search.fidelity import Fidelity
from spaces import Space, call_space
from trainers import (
    DivergedError,
    Metrics,
    Report,
    TrainConfig,
    UserError,
    count_params,
    describe_device,
    resolve_device,
)
from trainers.checkpoint import check as check_checkpoint

__all__ = [
    "BUDGET",
    "Listener",
    "Outcome",
    "checkpoint_path",
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
    if BUDGET not in _frozen(trial).constraints:  # a retried trial carries its original's
        trial.set_constraint(BUDGET, n_params - budget)
    if n_params > budget:
        reason = f"budget: {n_params:,} > {budget:,} parameters"
        trial.set_user_attr("pruned_reason", reason)
        raise optuna.TrialPruned(reason)
    return config


def _frozen(trial: optuna.Trial) -> FrozenTrial:
    return trial.study._storage.get_trial(trial._trial_id)


def checkpoint_path(directory: Path, trial: optuna.Trial) -> Path:
    """Where a trial checkpoints: its retries share the original trial's file."""
    retried = optuna.storages.RetryHeartbeatStaleTrialCallback.retried_trial_number
    with warnings.catch_warnings():  # experimental since Optuna 2.8
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        number = retried(_frozen(trial))
    return directory / f"trial-{trial.number if number is None else number}.pt"


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
    retry: bool = False  # FAIL for a reason outside the trial (its process died): run it again


def train_trial(
    trial: optuna.Trial,
    config: TrainConfig,
    train_fn: Callable[..., Metrics],
    train_kwargs: dict[str, Any],
    listener: Listener | None = None,
    checkpoint: Path | None = None,
) -> Outcome:
    """Train a sampled trial, reporting each epoch to it; pruning, divergence and running out of
    memory end it. With `checkpoint`, every epoch is saved there and a retried trial resumes
    from it; the file is removed once the trial has ended."""
    device = resolve_device(train_kwargs.get("device"))
    trial.set_user_attr("device", describe_device(device))
    if checkpoint is not None and checkpoint.exists():
        try:
            trial.set_user_attr("resumed_from_epoch", check_checkpoint(checkpoint, config))
        except UserError as err:  # cut short by the crash that killed the run: start over
            trial.set_user_attr("resume_error", str(err))
            checkpoint.unlink()
    if listener:
        listener.trial_started(trial.number, count_params(config.model), config.epochs)
    report = _reporter(trial, config.epochs, listener)
    try:
        metrics = train_fn(config, report, checkpoint=checkpoint, **train_kwargs)
    except optuna.TrialPruned as pruned:
        return _ended(checkpoint, Outcome(TrialState.PRUNED, reason=str(pruned)))
    except DivergedError as err:
        return _failed(trial, checkpoint, f"diverged: {err}")
    except torch.OutOfMemoryError as err:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # so that this worker can train the next trial
        return _failed(trial, checkpoint, f"out of memory: {str(err).splitlines()[0]}")
    for key in ("val_loss", "images_per_s", "wall_s", "precision"):
        trial.set_user_attr(key, getattr(metrics, key))
    return _ended(checkpoint, Outcome(TrialState.COMPLETE, metrics.val_accuracy))


def _ended(checkpoint: Path | None, outcome: Outcome) -> Outcome:
    if checkpoint is not None:
        checkpoint.unlink(missing_ok=True)  # nothing later needs it: disk use stays bounded
    return outcome


def _failed(trial: optuna.Trial, checkpoint: Path | None, reason: str) -> Outcome:
    trial.set_user_attr("fail_reason", reason)
    return _ended(checkpoint, Outcome(TrialState.FAIL, reason=reason))


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

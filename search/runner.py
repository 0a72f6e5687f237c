"""The driver loop: ask, sample, reject over-budget configs, hand the rest to an executor, tell.

One loop for every executor: `LocalExecutor` trains in this process, one trial at a time;
`search.ray_executor.RayExecutor` trains on Ray workers. The sampler, the budget check and every
`tell` stay here, with the study; executors only train and report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import optuna
from optuna.trial import TrialState

from search.fidelity import Fidelity
from search.objective import Listener, Outcome, is_trained, sample, train_trial, trained_count
from search.progress import TrialProgress
from spaces import Space
from trainers import Metrics, SearchError, TrainConfig, UserError

__all__ = ["MAX_UNTRAINED_IN_A_ROW", "Executor", "LocalExecutor", "Plan", "run_trials"]

MAX_UNTRAINED_IN_A_ROW = 100  # budget rejections or failures in a row before a run gives up


class Executor(Protocol):
    """Where sampled trials train."""

    capacity: int  # trials it trains at once

    def submit(self, trial: optuna.Trial, config: TrainConfig) -> None: ...

    def wait(self) -> list[tuple[optuna.Trial, Outcome]]:
        """Block until at least one submitted trial has ended; return those that have."""
        ...

    def running(self) -> list[optuna.Trial]:
        """Trials submitted and not yet returned by `wait`."""
        ...

    def cancel(self) -> None:
        """Stop every running trial (they are told FAIL by the loop)."""
        ...


@dataclass(frozen=True)
class Plan:
    """What the loop samples and how much of it to train."""

    space: Space
    fidelity: Fidelity
    budget: int
    target: int  # trained trials the whole study should hold


class LocalExecutor:
    """Trains each trial in this process as it is submitted, with live progress."""

    capacity = 1

    def __init__(
        self, train_fn: Callable[..., Metrics], train_kwargs: dict[str, Any], listener: Listener
    ) -> None:
        self.train_fn, self.train_kwargs, self.listener = train_fn, train_kwargs, listener
        self.current: optuna.Trial | None = None
        self.done: list[tuple[optuna.Trial, Outcome]] = []

    def submit(self, trial: optuna.Trial, config: TrainConfig) -> None:
        self.current = trial
        outcome = train_trial(trial, config, self.train_fn, self.train_kwargs, self.listener)
        self.done.append((trial, outcome))
        self.current = None

    def wait(self) -> list[tuple[optuna.Trial, Outcome]]:
        done, self.done = self.done, []
        return done

    def running(self) -> list[optuna.Trial]:
        """Submitted and not yet returned by `wait`."""
        return [trial for trial, _ in self.done] + ([self.current] if self.current else [])

    def cancel(self) -> None:
        self.current = None  # the interrupt that cancels has already stopped it


def _tell(study: optuna.Study, trial: optuna.Trial, outcome: Outcome) -> None:
    if outcome.state == TrialState.COMPLETE:
        study.tell(trial, outcome.value)
    else:
        if outcome.state == TrialState.FAIL:
            trial.set_user_attr("fail_reason", outcome.reason)
        study.tell(trial, state=outcome.state)


def run_trials(
    study: optuna.Study, plan: Plan, executor: Executor, progress: TrialProgress
) -> None:
    """Run until the study holds `plan.target` trained trials, never more.

    A trial is started only while trained + running < target, so concurrent trials cannot
    overshoot. An interrupt (Ctrl-C, SIGTERM) stops the running trials and marks them FAIL.
    """
    untrained_in_a_row = 0

    def finished(trial: optuna.Trial) -> None:
        nonlocal untrained_in_a_row
        frozen = study._storage.get_trial(trial._trial_id)
        progress(study, frozen)
        untrained_in_a_row = 0 if is_trained(frozen) else untrained_in_a_row + 1
        if untrained_in_a_row >= MAX_UNTRAINED_IN_A_ROW:
            raise _GaveUp

    try:
        trained = trained_count(study.get_trials(deepcopy=False))
        while True:
            while len(executor.running()) < executor.capacity and (
                trained + len(executor.running()) < plan.target
            ):
                trial = study.ask()
                try:
                    config = sample(trial, plan.space, plan.fidelity, plan.budget)
                except optuna.TrialPruned:
                    study.tell(trial, state=TrialState.PRUNED)
                    finished(trial)
                    continue
                executor.submit(trial, config)
            if not executor.running() and trained >= plan.target:
                return
            for trial, outcome in executor.wait():
                _tell(study, trial, outcome)
                finished(trial)
            trained = trained_count(study.get_trials(deepcopy=False))
    except _GaveUp:
        _fail_running(study, executor, "stopped: too many trials in a row did not train")
        raise UserError(
            f"{MAX_UNTRAINED_IN_A_ROW} trials in a row did not train (over --budget "
            f"{plan.budget:,}, or failed); allowed: a larger --budget or a space that builds "
            "smaller models"
        ) from None
    except KeyboardInterrupt:
        _fail_running(study, executor, "interrupted")
        raise
    except SearchError as err:  # bad input a trial found: nothing more can train
        _fail_running(study, executor, f"stopped: {err}")
        raise


class _GaveUp(SearchError):
    """Too many trials in a row did not train."""


def _fail_running(study: optuna.Study, executor: Executor, reason: str) -> None:
    running = executor.running()
    executor.cancel()
    for trial in running:
        frozen = study._storage.get_trial(trial._trial_id)
        if frozen.state == TrialState.RUNNING:
            _tell(study, trial, Outcome(TrialState.FAIL, reason=reason))

"""Where sampled trials train: the executor protocol, and the executor that trains in-process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import optuna

from search.training import OnEpoch, Outcome, train_trial
from trainers import Metrics, TrainConfig

__all__ = ["Executor", "LocalExecutor"]


class Executor(Protocol):
    """Trains the trials the driver loop submits and hands back how they ended; it knows
    nothing of the study's sampler or of what a person sees."""

    def has_room(self) -> bool:
        """Whether it can start another trial now."""
        ...

    def submit(self, trial: optuna.Trial, config: TrainConfig, checkpoint: Path) -> None: ...

    def wait(self, timeout_s: float) -> list[tuple[optuna.Trial, Outcome]]:
        """The submitted trials that have ended, waiting up to `timeout_s` for one."""
        ...

    def running(self) -> list[optuna.Trial]:
        """Trials submitted and not yet returned by `wait`."""
        ...

    def cancel(self) -> None:
        """Stop every running trial (the loop tells them FAIL)."""
        ...


class LocalExecutor:
    """Trains each trial in this process as it is submitted."""

    def __init__(
        self,
        train_fn: Callable[..., Metrics],
        train_kwargs: dict[str, Any],
        on_epoch: OnEpoch | None = None,
    ) -> None:
        self.train_fn, self.train_kwargs, self.on_epoch = train_fn, train_kwargs, on_epoch
        self.current: optuna.Trial | None = None
        self.done: list[tuple[optuna.Trial, Outcome]] = []

    def has_room(self) -> bool:
        return not self.running()  # one at a time

    def submit(self, trial: optuna.Trial, config: TrainConfig, checkpoint: Path) -> None:
        self.current = trial
        try:  # an exception (a fault of the trial, or an interrupt) is the driver loop's to tell
            outcome = train_trial(
                trial, config, self.train_fn, self.train_kwargs, checkpoint, self.on_epoch
            )
        finally:
            self.current = None
        self.done.append((trial, outcome))

    def wait(self, timeout_s: float) -> list[tuple[optuna.Trial, Outcome]]:
        done, self.done = self.done, []
        return done

    def running(self) -> list[optuna.Trial]:
        return [trial for trial, _ in self.done] + ([self.current] if self.current else [])

    def cancel(self) -> None:
        pass  # it trains in the loop's own thread: the interrupt that cancels has stopped it

"""The plan of a run: what its loop samples, how much of it to train, when to stop starting
trials, and where each trial checkpoints."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from optuna.trial import FrozenTrial

from search.fidelity import Fidelity
from search.trial import retried_from
from spaces import Space

__all__ = ["Plan", "checkpoint_path"]


@dataclass(frozen=True)
class Plan:
    """What the loop samples, how much of it to train, where trials checkpoint."""

    space: Space
    fidelity: Fidelity
    budget: int
    target: int  # trained trials the whole study should hold
    checkpoints: Path  # directory of the study's trial checkpoints
    heartbeat_s: int = 10  # seconds between heartbeats of running trials
    deadline: float | None = None  # time.monotonic() after which no trial starts; None: never


def checkpoint_path(directory: Path, trial: FrozenTrial) -> Path:
    """Where a trial checkpoints: its retries share the original trial's file."""
    number = retried_from(trial)
    return directory / f"trial-{trial.number if number is None else number}.pt"

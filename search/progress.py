"""What a person watching a run sees: a live line per training trial, a line per finished one.

The driver loop feeds it the trials' records as the storage holds them, whichever process
trains them; it never asks an executor.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from optuna.trial import FrozenTrial, TrialState
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from search.console import console
from search.trial import CONFIG, IMAGES_PER_S, N_PARAMS, is_budget_rejected, reason

__all__ = ["TrialProgress"]


def _duration(trial: FrozenTrial) -> str:
    return f"{trial.duration.total_seconds():.1f} s" if trial.duration else ""


class TrialProgress:
    """On a terminal each training trial has a live bar (epoch, validation accuracy, images/s);
    elsewhere, as in logs, each epoch is one line."""

    def __init__(self, out: Console = console) -> None:
        self.out = out
        self.bars: Progress | None = None
        if out.is_terminal:
            self.bars = Progress(
                TextColumn("trial {task.fields[number]:>4}"),
                BarColumn(bar_width=20),
                TextColumn("epoch {task.completed:.0f}/{task.total:.0f}"),
                TextColumn("val acc {task.fields[value]}"),
                TextColumn("{task.fields[speed]} img/s"),
                TimeElapsedColumn(),
                console=out,
                transient=True,
            )
        self.tasks: dict[int, TaskID] = {}
        self.shown: dict[int, int] = {}  # trial number -> last epoch shown

    def __enter__(self) -> TrialProgress:
        if self.bars:
            self.bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bars:
            self.bars.stop()

    def running(self, trials: Iterable[FrozenTrial]) -> None:
        """Show what running trials did since the last look: that they started, their epochs."""
        for trial in trials:
            if trial.number not in self.shown:
                self._started(trial)
            for epoch in sorted(trial.intermediate_values):
                if epoch > self.shown[trial.number]:
                    self._epoch(trial, epoch)

    def ended(self, trial: FrozenTrial) -> None:
        """One line for a trial that has ended, after any of its epochs not shown yet."""
        if trial.intermediate_values:
            self.running([trial])
        if self.bars and trial.number in self.tasks:
            self.bars.remove_task(self.tasks.pop(trial.number))
        n_params = trial.user_attrs.get(N_PARAMS)
        params = f"{n_params:,} params" if n_params is not None else ""
        state = trial.state.name
        if trial.state == TrialState.COMPLETE:
            detail = f"val acc {trial.value:.4f}  {params}  {_duration(trial)}"
            self.out.print(f"trial {trial.number:>4} [green]{state}[/]  {detail}")
        else:
            style = "dim" if is_budget_rejected(trial) else "yellow"
            self.out.print(f"[{style}]trial {trial.number:>4} {state}  {reason(trial)}[/]")

    def _started(self, trial: FrozenTrial) -> None:
        epochs = trial.user_attrs.get(CONFIG, {}).get("epochs", 0)
        self.shown[trial.number] = 0
        if self.bars:
            self.tasks[trial.number] = self.bars.add_task(
                "", total=epochs, number=trial.number, value="-", speed="-"
            )
        else:
            n_params = trial.user_attrs.get(N_PARAMS, 0)
            self.out.print(f"trial {trial.number:>4} training  {n_params:,} params, "
                           f"{epochs} epoch{'s' * (epochs != 1)}")  # fmt: skip

    def _epoch(self, trial: FrozenTrial, epoch: int) -> None:
        """The epoch's line. The trial records one speed, its last epoch's while it runs (the
        whole run's once it ends): older epochs caught up in one look show none."""
        value = trial.intermediate_values[epoch]
        images_per_s = trial.user_attrs.get(IMAGES_PER_S, math.nan)
        if trial.state != TrialState.RUNNING or epoch != max(trial.intermediate_values):
            images_per_s = math.nan
        speed = f"{images_per_s:,.0f}" if math.isfinite(images_per_s) else "-"
        self.shown[trial.number] = epoch
        if self.bars and trial.number in self.tasks:
            self.bars.update(self.tasks[trial.number], completed=epoch, value=f"{value:.4f}",
                             speed=speed)  # fmt: skip
        elif not self.bars:
            self.out.print(f"trial {trial.number:>4} epoch {epoch}  val acc {value:.4f}  "
                           f"{speed} img/s")  # fmt: skip

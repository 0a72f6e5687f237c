"""What a person watching a run sees: a live line per training trial, a line per finished one."""

from __future__ import annotations

import math
import sys

import optuna
from optuna.trial import FrozenTrial, TrialState
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

__all__ = ["TrialProgress", "console", "log", "stdout"]

console = Console(stderr=True, highlight=False, soft_wrap=True)  # logs and live progress
# tables and results; wide when piped to a file, where nothing wraps them again
stdout = Console(highlight=False, width=None if sys.stdout.isatty() else 240)


def log(message: str) -> None:
    console.print(message)


def _duration(trial: FrozenTrial) -> str:
    if trial.datetime_start is None or trial.datetime_complete is None:
        return ""
    return f"{(trial.datetime_complete - trial.datetime_start).total_seconds():.1f} s"


class TrialProgress:
    """A `Listener` for the objective and a `study.optimize` callback for finished trials.

    On a terminal each training trial has a live bar (epoch, validation accuracy, images/s);
    elsewhere, as in logs, each epoch is one line.
    """

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
        self.seen: dict[int, int] = {}  # trial number -> last epoch shown, for refresh

    def __enter__(self) -> TrialProgress:
        if self.bars:
            self.bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bars:
            self.bars.stop()

    def trial_started(self, number: int, n_params: int, epochs: int) -> None:
        if self.bars:
            self.tasks[number] = self.bars.add_task(
                "", total=epochs, number=number, value="-", speed="-"
            )
        else:
            self.out.print(f"trial {number:>4} training  {n_params:,} params, {epochs} epochs")

    def trial_epoch(self, number: int, epoch: int, value: float, images_per_s: float) -> None:
        speed = f"{images_per_s:,.0f}" if math.isfinite(images_per_s) else "-"
        if self.bars and number in self.tasks:
            self.bars.update(self.tasks[number], completed=epoch, value=f"{value:.4f}", speed=speed)
        elif not self.bars:
            self.out.print(f"trial {number:>4} epoch {epoch}  val acc {value:.4f}  {speed} img/s")

    def refresh(self, running: list[FrozenTrial]) -> None:
        """Show what running trials reported to the storage since the last look (the trials of
        other processes, such as Ray workers, which cannot call this listener)."""
        for trial in running:
            if not trial.intermediate_values:
                continue
            epoch = max(trial.intermediate_values)
            if self.seen.get(trial.number, 0) == 0:
                epochs = trial.user_attrs.get("config", {}).get("epochs", 0)
                self.trial_started(trial.number, trial.user_attrs.get("n_params", 0), epochs)
            for e in range(self.seen.get(trial.number, 0) + 1, epoch + 1):
                if e in trial.intermediate_values:
                    speed = trial.user_attrs.get("images_per_s", math.nan)
                    self.trial_epoch(trial.number, e, trial.intermediate_values[e], speed)
            self.seen[trial.number] = epoch

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if self.bars and trial.number in self.tasks:
            self.bars.remove_task(self.tasks.pop(trial.number))
        n_params = trial.user_attrs.get("n_params")
        params = f"{n_params:,} params" if n_params is not None else ""
        state = trial.state.name
        if trial.state == TrialState.COMPLETE:
            detail = f"val acc {trial.value:.4f}  {params}  {_duration(trial)}"
            self.out.print(f"trial {trial.number:>4} [green]{state}[/]  {detail}")
        else:
            reason = trial.user_attrs.get("pruned_reason") or trial.user_attrs.get(
                "fail_reason", trial.system_attrs.get("fail_reason", "")
            )
            style = "dim" if reason.startswith("budget") else "yellow"
            self.out.print(f"[{style}]trial {trial.number:>4} {state}  {reason}[/]")

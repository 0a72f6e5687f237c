"""`search status`: a study's trials as a table a person reads: state, accuracy, size, config."""

from __future__ import annotations

from collections import Counter

import optuna
from optuna.trial import FrozenTrial, TrialState
from rich.table import Table

from search.trial import CONFIG, DESIGN, N_PARAMS, TrialOutcome, outcome, reason
from search.views.model import describe_model

__all__ = ["breakdown", "trials_table"]


def breakdown(trials: list[FrozenTrial]) -> str:
    """What a study's trials came to, in one line: "25 trials: 14 trained (11 complete, 3 pruned
    by the pruner), 8 rejected for the budget, 2 failed, 1 running" (and any still queued)."""
    n = Counter(outcome(t) for t in trials)
    complete, pruned, queued = (
        n[TrialOutcome.COMPLETE],
        n[TrialOutcome.PRUNED],
        n[TrialOutcome.QUEUED],
    )
    line = (
        f"{len(trials)} trials: {complete + pruned} trained ({complete} complete, {pruned} "
        f"pruned by the pruner), {n[TrialOutcome.REJECTED]} rejected for the budget, "
        f"{n[TrialOutcome.FAILED]} failed, {n[TrialOutcome.RUNNING]} running"
    )
    return line + (f", {queued} queued" if queued else "")


def _mix(augment: dict) -> float:
    """Probability that a batch is mixed (CutMix or MixUp)."""
    return augment.get("cutmix_prob", 0.0) + augment.get("mixup_prob", 0.0)


def _row(trial: FrozenTrial) -> list[str]:
    config = trial.user_attrs.get(CONFIG, {})
    optim, schedule = config.get("optim", {}), config.get("schedule", {})
    duration = trial.duration.total_seconds() if trial.duration else None
    n_params = trial.user_attrs.get(N_PARAMS)
    return [
        str(trial.number),
        trial.state.name,
        f"{trial.value:.4f}" if trial.state == TrialState.COMPLETE else "",  # a pruned
        # trial's value is its last epoch's (Optuna's), never a final score; its note says it
        f"{n_params:,}" if n_params is not None else "",
        f"{duration:.1f}" if duration is not None else "",
        describe_model(config) if config else "",
        f"{optim['lr']:.3g}" if "lr" in optim else "",
        schedule.get("name", ""),
        str(optim.get("batch_size", "")),
        f"{_mix(config['augment']):.2f}" if config else "",
        "; ".join(filter(None, [trial.user_attrs.get(DESIGN), reason(trial)])),
    ]


def trials_table(study: optuna.Study, best: int | None = None) -> Table:
    """Every trial in order, or with `best`, the best `best` completed trials by accuracy."""
    trials = study.get_trials(deepcopy=False)
    title = f"study {study.study_name!r}: {breakdown(trials)}"
    if best is not None:
        trials = [t for t in trials if t.state == TrialState.COMPLETE]
        trials = sorted(trials, key=lambda t: t.value, reverse=True)[:best]
        title = f"best {len(trials)} of study {study.study_name!r}"
    table = Table(title=title, title_justify="left")
    right = ("#", "val acc", "params", "seconds", "lr", "batch", "mix")
    for name in ("#", "state", "val acc", "params", "seconds", "model", "lr", "schedule"):
        table.add_column(name, justify="right" if name in right else "left", no_wrap=True)
    for name in ("batch", "mix", "note"):
        table.add_column(name, justify="right" if name in right else "left")
    for trial in trials:
        table.add_row(*_row(trial))
    return table

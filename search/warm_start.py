"""Warm start: a new study of `resnet_budget` first tries the published designs of the zoo that
fit its budget, each with its published recipe, enqueued as ordinary trials (Optuna's
`enqueue_trial`), so that the sampler learns from them like any other trial."""

from __future__ import annotations

import contextlib
from collections.abc import Container

import optuna
from optuna.trial import TrialState

from search.console import log
from search.trial import DESIGN, FAIL_REASON, retried_from, storage_of, trial_id
from spaces import designs_within
from spaces.resnet_budget import MIN_FRACTION

__all__ = ["ZOO_SPACE", "drop_doubles", "warm_start"]

ZOO_SPACE = "resnet_budget"  # the space whose parameters the zoo's designs are written in


def warm_start(
    study: optuna.Study, space: str, budget: int, queued: Container[str | None] = ()
) -> list[str]:
    """Enqueue the zoo's designs within `budget` as the study's first trials, but those
    `queued` already; the names of all within budget."""
    if space != ZOO_SPACE:
        log(f"warm start: none (the published designs are written in {ZOO_SPACE!r}'s "
            f"parameters, not {space!r}'s)")  # fmt: skip
        return []
    fit, others = designs_within(budget)
    for design in (d for d in fit if d.name not in queued):
        study.enqueue_trial(design.trial_params(budget), user_attrs={DESIGN: design.name})
    names = ", ".join(f"{d.name} ({d.n_params / 1e6:.2f}M)" for d in fit) or "none"
    log(f"warm start: {len(fit)} published design{'' if len(fit) == 1 else 's'} first: {names}")
    if others:
        why = {d.name: "over" if d.n_params > budget else f"under {MIN_FRACTION:.0%} of it"
               for d in others}  # fmt: skip
        log("warm start: skipped " + ", ".join(f"{n} ({w})" for n, w in why.items()))
    return [d.name for d in fit]


def drop_doubles(study: optuna.Study) -> int:
    """FAIL the later copy of each design queued twice (drivers that made one study whole at
    the same moment each queued what it lacked), so that each trains once; how many."""
    storage, first, dropped = storage_of(study), {}, 0
    for trial in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        name = trial.user_attrs.get(DESIGN)
        if name is None or retried_from(trial) is not None:  # a retry runs a design again
            continue
        original = first.setdefault(name, trial.number)
        if original == trial.number or trial.state != TrialState.WAITING:
            continue
        with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
            if storage.set_trial_state_values(trial_id(trial), TrialState.RUNNING):  # taken
                storage.set_trial_user_attr(trial_id(trial), FAIL_REASON,
                                            f"queued twice: a copy of #{original}")  # fmt: skip
                storage.set_trial_state_values(trial_id(trial), TrialState.FAIL)
                dropped += 1
    return dropped

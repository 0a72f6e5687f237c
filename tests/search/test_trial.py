"""The trial record: one reading of what a trial is and why it ended, for every view."""

import optuna
from optuna.trial import TrialState

from search.retry import RETRY
from search.trial import (
    BUDGET_CONSTRAINT,
    FAIL_REASON,
    PRUNED_REASON,
    RESUMED_FROM_EPOCH,
    frozen,
    is_budget_rejected,
    is_trained,
    outcome,
    reason,
    retried_from,
    storage_of,
    trained_count,
    trial_id,
)
from storage import open_storage


def ended(study, state, budget_excess=None, value=None, **attrs):
    """A trial of `study` that ended in `state`, with the constraint and user attributes given."""
    trial = study.ask()
    if budget_excess is not None:
        trial.set_constraint(BUDGET_CONSTRAINT, budget_excess)
    for key, attr in attrs.items():
        trial.set_user_attr(key, attr)
    study.tell(trial, value, state=state)
    return study.trials[-1]


def test_trained_means_complete_or_stopped_by_the_pruner_never_by_the_budget():
    study = optuna.create_study(direction="maximize")
    complete = ended(study, TrialState.COMPLETE, budget_excess=-5, value=0.5)
    pruned = ended(study, TrialState.PRUNED, budget_excess=-5, pruned_reason="pruner: ...")
    rejected = ended(study, TrialState.PRUNED, budget_excess=7, pruned_reason="budget: ...")
    failed = ended(study, TrialState.FAIL, fail_reason="diverged: nan")
    assert [is_trained(t) for t in (complete, pruned, rejected, failed)] == [1, 1, 0, 0]
    assert [is_budget_rejected(t) for t in (complete, pruned, rejected, failed)] == [0, 0, 1, 0]
    assert trained_count(study.trials) == 2
    study.ask()  # running
    study.enqueue_trial({})  # queued
    assert [outcome(t) for t in study.trials] == [
        "complete", "pruned by the pruner", "rejected for the budget", "failed", "running",
        "queued",
    ]  # fmt: skip


def test_the_reason_is_what_the_trial_said_else_what_its_record_shows():
    study = optuna.create_study(storage=open_storage("sqlite://").backend, direction="maximize")
    assert reason(ended(study, TrialState.PRUNED, **{PRUNED_REASON: "budget: 9 > 5"})) == (
        "budget: 9 > 5"
    )
    assert reason(ended(study, TrialState.FAIL, **{FAIL_REASON: "interrupted"})) == "interrupted"
    stale = ended(study, TrialState.FAIL)  # failed by another driver: its heartbeat stopped
    assert reason(stale) == "no heartbeat: its process died"
    RETRY(study, stale)  # queued again, as a stale trial is
    retry = study.ask()
    assert retried_from(frozen(retry)) == stale.number
    assert reason(frozen(retry)) == f"retry of #{stale.number}"
    retry.set_user_attr(RESUMED_FROM_EPOCH, 4)
    assert reason(frozen(retry)) == f"retry of #{stale.number}, resumed after epoch 4"
    assert reason(ended(study, TrialState.COMPLETE, value=0.3)) == ""


def test_a_live_trial_reads_back_as_the_storage_holds_it():
    study = optuna.create_study(storage=open_storage("sqlite://").backend)
    trial = study.ask()
    trial.report(0.25, 1)
    record = storage_of(study).get_trial(trial_id(trial))
    assert frozen(trial).intermediate_values == record.intermediate_values == {1: 0.25}
    assert frozen(trial).state == TrialState.RUNNING


def test_a_retry_copied_whole_says_it_is_a_retry_not_why_its_original_failed():
    """Optuna's retry of a stale trial copies its user attributes, a reason among them."""
    study = optuna.create_study(storage=open_storage("sqlite://").backend, direction="maximize")
    failed = ended(study, TrialState.FAIL, **{FAIL_REASON: "interrupted; queued ..."})
    RETRY(study, failed)
    retry = study.ask()
    assert reason(frozen(retry)) == f"retry of #{failed.number}"
    study.tell(retry, 0.4)
    assert reason(study.trials[-1]) == f"retry of #{failed.number}"

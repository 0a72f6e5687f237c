"""Claiming a place: a trial becomes RUNNING to train only where the study still has a place for
it (fewer trained and running trials than wanted), decided in the transaction that makes it
RUNNING.

On an RDB storage every claim (a queued trial taken, a sampled one written RUNNING by
search.draft) locks the study's row first and counts the trials in the same transaction, so
claims happen one at a time and each sees the ones before it: drivers racing for the last
places never train more trials than wanted, and a trial refused a place is left as it was
(queued, or never written). On Optuna's gRPC proxy, which has no transactions to offer, the
count and the claim are two calls.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterable

import optuna
import sqlalchemy
from optuna.storages._rdb import models
from optuna.storages._rdb.storage import _create_scoped_session
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy import orm

from errors import SearchError
from search.trial import BUDGET_CONSTRAINT, is_trained, rdb_of, storage_of, study_id_of, trial_id

__all__ = ["NoPlace", "check_place", "claim_queued", "taken", "taken_in"]

# Where Optuna's `Trial.set_constraint` stores the budget's constraint (n_params - budget)
CONSTRAINT_KEY = f"constraints:{BUDGET_CONSTRAINT}"


class NoPlace(SearchError):
    """Every place the study has is taken: as many trials trained or running as are wanted."""


def taken(trials: Iterable[FrozenTrial]) -> int:
    """Places taken in a snapshot of the study: trained trials and running ones."""
    return sum(is_trained(t) or t.state == TrialState.RUNNING for t in trials)


def check_place(study: optuna.Study, wanted: int) -> None:
    """NoPlace where `wanted` places are taken, counted on a fresh read: for a storage without
    transactions to count in (Optuna's gRPC proxy, memory), before a claim in another call."""
    if taken(study.get_trials(deepcopy=False)) >= wanted:
        raise NoPlace


def taken_in(session: orm.Session, study_id: int) -> int:
    """`taken` counted in the session's transaction: COMPLETE, RUNNING, and PRUNED but not over
    the budget (search.trial.is_trained), as the database holds them now. The caller holds the
    study's row (`StudyModel.find_or_raise_by_id(..., for_update=True)`)."""
    trial, attr = models.TrialModel, models.TrialSystemAttributeModel
    states = (TrialState.COMPLETE, TrialState.RUNNING, TrialState.PRUNED)
    counted = session.scalar(
        sqlalchemy.select(sqlalchemy.func.count())
        .where(trial.study_id == study_id, trial.state.in_(states))
    )  # fmt: skip
    rejected = session.scalar(
        sqlalchemy.select(sqlalchemy.func.count())
        .select_from(attr)
        .join(trial, attr.trial_id == trial.trial_id)
        .where(
            trial.study_id == study_id, trial.state == TrialState.PRUNED,
            attr.key == CONSTRAINT_KEY, sqlalchemy.cast(attr.value_json, sqlalchemy.Float) > 0,
        )
    )  # fmt: skip
    return (counted or 0) - (rejected or 0)


def claim_queued(
    study: optuna.Study, queued: Iterable[FrozenTrial], wanted: int
) -> optuna.Trial | None:
    """The first of `queued` (WAITING trials) that this process sets RUNNING, as `study.ask()`
    pops Optuna's queue but in the order given (`study.ask()` takes the oldest first); None where
    other processes took them all. Raises NoPlace, leaving them queued, where `wanted` places
    are taken."""
    rdb = rdb_of(study)
    if rdb is None:
        check_place(study, wanted)
        for waiting in queued:
            with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
                if storage_of(study).set_trial_state_values(trial_id(waiting), TrialState.RUNNING):
                    return _asked(study, waiting)
        return None
    with _create_scoped_session(rdb.scoped_session) as session:
        models.StudyModel.find_or_raise_by_id(study_id_of(study), session, for_update=True)
        full = taken_in(session, study_id_of(study)) >= wanted
        claimed = None if full else _set_running(session, queued)
    if full:  # raised here: Optuna's session ends only its own errors' transactions
        raise NoPlace
    return _asked(study, claimed)


def _set_running(session: orm.Session, queued: Iterable[FrozenTrial]) -> FrozenTrial | None:
    """The first of `queued` still WAITING, set RUNNING in the session, as Optuna's
    `set_trial_state_values` does."""
    for waiting in queued:
        row = models.TrialModel.find_or_raise_by_id(trial_id(waiting), session, for_update=True)
        if row.state == TrialState.WAITING:
            row.state, row.datetime_start = TrialState.RUNNING, datetime.datetime.now()
            return waiting
    return None


def _asked(study: optuna.Study, claimed: FrozenTrial | None) -> optuna.Trial | None:
    if claimed is None:
        return None
    study._thread_local.cached_all_trials = None  # as study.ask(): a fresh read
    return optuna.Trial(study, trial_id(claimed))

"""Places: a trial becomes RUNNING only where the study has one, counted and taken in one
transaction, on every storage (and in memory, where one process is all there is)."""

import threading
import time

import optuna
import pytest
from optuna.storages._rdb import models
from optuna.trial import TrialState
from sqlalchemy import orm

from search.claim import NoPlace, claim_queued, taken, taken_in
from search.draft import Draft
from search.trial import BUDGET_CONSTRAINT, frozen, rdb_of, study_id_of, trial_id
from storage import open_storage


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def study(request, tmp_path):
    if request.param == "memory":
        return optuna.create_study(direction="maximize")
    url = f"sqlite:///{tmp_path / 's.db'}"
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
    return optuna.create_study(storage=open_storage(url).backend, direction="maximize")


def ended(study, state, constraint=None, value=None):
    trial = study.ask()
    if constraint is not None:
        trial.set_constraint(BUDGET_CONSTRAINT, constraint)
    study.tell(trial, value, state=state)


def test_trained_and_running_trials_take_places_and_no_others(study):
    ended(study, TrialState.COMPLETE, value=0.5)
    ended(study, TrialState.PRUNED)  # by the pruner, after some epochs
    ended(study, TrialState.PRUNED, constraint=0)  # at the budget exactly: trained
    ended(study, TrialState.PRUNED, constraint=1)  # over the budget: never trained
    ended(study, TrialState.PRUNED, constraint=2.5e6)
    ended(study, TrialState.FAIL)
    study.ask()  # running
    study.enqueue_trial({})  # queued
    assert taken(study.get_trials()) == 4
    rdb = rdb_of(study)
    if rdb is not None:
        with orm.Session(rdb.engine) as session:
            assert taken_in(session, study_id_of(study)) == 4


def test_a_queued_trial_is_claimed_only_where_a_place_is_left(study):
    study.ask()  # another driver's, running
    study.enqueue_trial({"x": 0.5})
    queued = study.get_trials(states=(TrialState.WAITING,))
    with pytest.raises(NoPlace):
        claim_queued(study, queued, 1)
    assert frozen_state(study, queued[0]) == TrialState.WAITING  # left in the queue
    claimed = claim_queued(study, queued, 2)
    assert claimed.number == queued[0].number
    assert frozen(claimed).state == TrialState.RUNNING
    assert claim_queued(study, queued, 3) is None  # taken: none left to claim


def test_a_draft_refused_a_place_is_not_written(study):
    study.ask()  # another driver's, running
    draft = Draft(study, study.get_trials(deepcopy=False))
    draft.suggest_float("x", 0.0, 1.0)
    with pytest.raises(NoPlace):
        draft.write(TrialState.RUNNING, 1)
    assert len(study.get_trials()) == 1
    written = draft.write(TrialState.RUNNING, 2)
    assert frozen(written).state == TrialState.RUNNING and "x" in frozen(written).params


def frozen_state(study, trial):
    return study._storage.get_trial(trial_id(trial)).state


@pytest.mark.parametrize("claim", ["queued", "draft"])
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_claim_waits_for_one_under_way_and_counts_it(request, tmp_path, backend, claim):
    """The last place: another driver's claim holds the study while it sets its trial
    RUNNING; this driver's claim waits for it, then finds no place and leaves its own trial
    queued (or unwritten). Counting before the other committed, both would have trained."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    if backend == "postgresql":
        url = request.getfixturevalue("postgres_url")
    rdb = open_storage(url).backend
    study = optuna.create_study(storage=rdb, direction="maximize")
    study.enqueue_trial({"x": 0.1})
    study.enqueue_trial({"x": 0.2})
    theirs, ours = study.get_trials()
    holding, committing = threading.Event(), []

    def other_driver() -> None:  # what a claim does, slowly
        with orm.Session(rdb.engine) as session, session.begin():
            models.StudyModel.find_or_raise_by_id(study_id_of(study), session, for_update=True)
            row = models.TrialModel.find_or_raise_by_id(trial_id(theirs), session, True)
            row.state = TrialState.RUNNING
            session.flush()
            holding.set()
            time.sleep(0.5)
            committing.append(time.monotonic())

    other = threading.Thread(target=other_driver)
    other.start()
    assert holding.wait(10)
    with pytest.raises(NoPlace):
        if claim == "queued":
            claim_queued(study, [ours], 1)
        else:
            draft = Draft(study, study.get_trials(deepcopy=False))
            draft.suggest_float("x", 0.0, 1.0)
            draft.write(TrialState.RUNNING, 1)
    refused = time.monotonic()
    other.join()
    assert refused > committing[0]  # it waited for the other's claim to commit
    states = [t.state for t in study.get_trials()]
    assert states == [TrialState.RUNNING, TrialState.WAITING]
    study.enqueue_trial({"x": 0.3})  # refused, it left no transaction open (SQLite: no lock)

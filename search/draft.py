"""A draft: a trial the study's sampler draws in memory, written to the storage in one
transaction once it is known how it goes on (over budget: recorded PRUNED; a fault: FAIL;
else: RUNNING, to train).

`study.ask()` writes a trial when it is asked and every suggested parameter and attribute as its
own transaction, so a config rejected for the budget cost five times an empty ask/tell. A draft
is sampled exactly as an asked trial (the same `optuna.Trial` code, the same sampler calls), but
its record lives in memory until `write`, which hands it to the storage as a template
(`create_new_trial(study_id, template)`, what `study.add_trial` does): the constraint,
`n_params` and the reason go with it, so the sampler learns from it like any other trial.

Optuna 5.0 has no public way to sample a trial without storing it, so this module reaches into
`optuna.Trial`'s private fields (those its own `__init__` sets) and the study's per-ask trial
cache. On an RDB storage it also writes the trial through Optuna's table models: its own
`create_new_trial(study_id, template)` looks up, for every parameter, the study's earlier use of
that name (a query that grows with the study), which made one write cost more than sampling.
search.trial has the other reach-ins.
"""

from __future__ import annotations

import copy
import datetime
import json
from collections.abc import Container
from typing import Any

import optuna
import sqlalchemy
from optuna.distributions import (
    BaseDistribution,
    check_distribution_compatibility,
    distribution_to_json,
)
from optuna.storages._rdb import models
from optuna.storages._rdb.storage import _create_scoped_session
from optuna.trial import FrozenTrial, TrialState

from search.claim import NoPlace, check_place, taken_in
from search.trial import rdb_of, storage_of, study_id_of

__all__ = ["Draft"]

DRAFT_ID = -1  # the trial id a draft has until it is written


class _DraftStorage:
    """The study's storage as a draft's sampling sees it: the study's trials are the snapshot
    the draft was made from, and the draft's own record is in memory (`optuna.Trial` keeps
    params and attributes in it itself; the sampler's system attributes, such as TPE's
    constant-liar params, go into it here); everything else is the storage's."""

    def __init__(
        self, storage: optuna.storages.BaseStorage, record: FrozenTrial, trials: list[FrozenTrial]
    ) -> None:
        self.storage, self.record, self.trials = storage, record, trials

    def __getattr__(self, name: str) -> Any:
        return getattr(self.storage, name)

    def get_all_trials(
        self, study_id: int, deepcopy: bool = True, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        """The snapshot, not a new read: TPE's constant liar asks for the study's running
        trials once per group of parameters it samples, which was a read of every unfinished
        trial each time (a quarter to a third of a rejection's cost)."""
        trials = [t for t in self.trials if states is None or t.state in states]
        return copy.deepcopy(trials) if deepcopy else trials

    def get_trial(self, trial_id: int) -> FrozenTrial:
        return self.record if trial_id == DRAFT_ID else self.storage.get_trial(trial_id)

    def get_trial_system_attrs(self, trial_id: int) -> dict[str, Any]:
        if trial_id == DRAFT_ID:
            return self.record.system_attrs
        return self.storage.get_trial_system_attrs(trial_id)

    def set_trial_param(
        self, trial_id: int, name: str, internal: float, distribution: BaseDistribution
    ) -> None:
        """A draft's is kept in the record by optuna.Trial._suggest; it is only checked here,
        as the storage would: a name the study samples from another distribution (choices
        that changed) is a ValueError, which TPE would otherwise meet on every later trial,
        and choices JSON cannot write (numpy numbers) a TypeError, this trial's fault."""
        if trial_id != DRAFT_ID:
            self.storage.set_trial_param(trial_id, name, internal, distribution)
            return
        try:
            distribution_to_json(distribution)
        except (TypeError, ValueError) as err:
            raise TypeError(f"parameter {name!r}: {err}") from err
        earlier = next(
            (t.distributions[name] for t in self.trials if name in t.distributions), None
        )
        if earlier is not None:
            check_distribution_compatibility(earlier, distribution)

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        """A draft's is kept by optuna.Trial.set_user_attr once this returns; it is only
        checked here, as a database would when it is set: a value JSON cannot write (a space's
        numpy number) is that trial's fault now, not the whole run's when the draft is written."""
        if trial_id != DRAFT_ID:
            self.storage.set_trial_user_attr(trial_id, key, value)
            return
        try:
            json.dumps(value)
        except (TypeError, ValueError) as err:
            raise TypeError(f"user attribute {key!r}: {err}") from err

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        if trial_id == DRAFT_ID:
            self.record.system_attrs[key] = value
        else:
            self.storage.set_trial_system_attr(trial_id, key, value)


class Draft(optuna.Trial):
    """A trial of `study` sampled in memory; `write` stores it. Use it as any `optuna.Trial`
    while sampling a config (suggest, user attributes, constraints)."""

    def __init__(self, study: optuna.Study, trials: list[FrozenTrial]) -> None:
        """`trials`: the study's trials as the caller just read them (`get_trials(deepcopy=
        False)`); the sampler sees the study as they show it, as `study.ask()` would with a
        fresh read, and the draft's number will most likely be their count (which matters
        only to HyperbandPruner's bracket, on which the sampler's view depends)."""
        study._thread_local.cached_all_trials = None  # as study.ask(); refilled from `trials`
        self.home, self._trial_id = study, DRAFT_ID
        now = datetime.datetime.now()
        self._cached_frozen_trial = FrozenTrial(
            number=len(trials), state=TrialState.RUNNING, value=None, datetime_start=now,
            datetime_complete=None, params={}, distributions={}, user_attrs={},
            system_attrs={}, intermediate_values={}, trial_id=DRAFT_ID,
        )  # fmt: skip
        self.study = copy.copy(study)  # the same study, but for the storage its trials see
        self.study._storage = self.storage = _DraftStorage(
            storage_of(study), self._cached_frozen_trial, trials
        )
        sampler_view = optuna.pruners._filter_study(self.study, self._cached_frozen_trial)
        study.sampler.before_trial(sampler_view, self._cached_frozen_trial)
        self.relative_search_space = None
        self._relative_params = None
        self._fixed_params: dict[str, Any] = {}

    def write(self, state: TrialState, wanted: int | None = None) -> optuna.Trial | FrozenTrial:
        """Store the draft in one transaction: RUNNING gives the trial to train; PRUNED or
        FAIL gives the finished record (the sampler's `after_trial` heard of it, as on tell).

        With `wanted`, the study's trials to train, a RUNNING draft claims a place: where that
        many are trained or running, nothing is written and NoPlace is raised (search.claim).
        """
        study, rdb = self.home, rdb_of(self.home)
        if wanted is not None and rdb is None:  # no transaction to count in
            check_place(study, wanted)
        if state.is_finished():  # as on tell, before it is stored: what the sampler writes
            study.sampler.after_trial(self.study, self._cached_frozen_trial, state, None)
        record = copy.deepcopy(self._cached_frozen_trial)  # (its constraints) is in it then
        record.state = state
        if state.is_finished():
            record.datetime_complete = datetime.datetime.now()
        if rdb is None:  # Optuna's gRPC proxy or memory: the storage's own template path
            record._trial_id = storage_of(study).create_new_trial(study_id_of(study), record)
            record.number = storage_of(study).get_trial(record._trial_id).number
        else:
            inserted = _insert(rdb, study_id_of(study), record, wanted)
            if inserted is None:
                raise NoPlace
            record._trial_id, record.number = inserted
        study._thread_local.cached_all_trials = None  # as study.tell()
        return optuna.Trial(study, record._trial_id) if state == TrialState.RUNNING else record


def _insert(
    rdb: optuna.storages.RDBStorage, study_id: int, record: FrozenTrial, wanted: int | None
) -> tuple[int, int] | None:
    """Optuna's `create_new_trial(study_id, template)` for a new trial's params and attributes:
    one transaction, the study's row locked while the trial is numbered, as Optuna does. With
    `wanted`, None (nothing written) where that many places are taken (search.claim)."""
    with _create_scoped_session(rdb.scoped_session) as session:
        models.StudyModel.find_or_raise_by_id(study_id, session, for_update=True)
        if wanted is not None and taken_in(session, study_id) >= wanted:
            return None
        trial = models.TrialModel(
            study_id=study_id, number=None, state=record.state,
            datetime_start=record.datetime_start, datetime_complete=record.datetime_complete,
        )  # fmt: skip
        session.add(trial)
        session.flush()
        tid, distributions = trial.trial_id, record.distributions
        rows = {
            models.TrialParamModel: [
                {"trial_id": tid, "param_name": name,
                 "param_value": distributions[name].to_internal_repr(value),
                 "distribution_json": distribution_to_json(distributions[name])}
                for name, value in record.params.items()
            ],
            models.TrialUserAttributeModel: _attribute_rows(tid, record.user_attrs),
            models.TrialSystemAttributeModel: _attribute_rows(tid, record.system_attrs),
        }  # fmt: skip
        for model, values in rows.items():  # one INSERT of many rows per table: the unit of
            if values:  # work, an object per row, made the write take 1.7x as long
                session.execute(sqlalchemy.insert(model), values)
        trial.number = trial.count_past_trials(session)
        return trial.trial_id, trial.number


def _attribute_rows(trial_id: int, attrs: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"trial_id": trial_id, "key": k, "value_json": json.dumps(v)} for k, v in attrs.items()]

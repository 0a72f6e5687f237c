"""The driver's heartbeat: one thread beats for every trial this process has running.

A trial training here or on a Ray worker is alive as long as its driver is; if the driver dies
(SIGKILL, preemption), the beats stop, and after `GRACE_BEATS` of its driver's beats any
process running the study fails the trial and queues it again (`fail_dead`). A Ray worker
that dies while its driver lives is seen by Ray at once, and the driver retries that trial
itself.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import optuna
import sqlalchemy
from optuna.trial import FrozenTrial, TrialState

from search.console import log
from search.retry import NOT_RETRIED, can_retry, retry
from search.trial import DESIGN, FAIL_REASON, as_sampled, rdb_of, retried_from, trial_id

__all__ = ["GRACE_BEATS", "HEARTBEAT_S", "Heartbeat", "fail_dead"]

_HICCUPS = (sqlalchemy.exc.SQLAlchemyError, optuna.exceptions.StorageInternalError)
GRACE_BEATS = 3  # missed heartbeats after which a running trial is failed and retried
HEARTBEAT_S = "heartbeat_s"  # system attribute of a trial: seconds between its driver's beats
# Optuna's table of heartbeats (its schema, stable since 2.9): when some trials last beat
_BEATS = (
    sqlalchemy.text("SELECT trial_id, heartbeat FROM trial_heartbeats WHERE trial_id IN :ids")
    .bindparams(sqlalchemy.bindparam("ids", expanding=True))
    .columns(trial_id=sqlalchemy.Integer, heartbeat=sqlalchemy.DateTime)
)


class Heartbeat:
    """Records a heartbeat for each trial between `add` and `discard`, every interval."""

    def __init__(self, storage: optuna.storages.BaseStorage, interval_s: float) -> None:
        self.storage, self.interval_s = storage, interval_s
        # storages without heartbeats (in memory, or opened without them) get none
        self.enabled = getattr(storage, "get_heartbeat_interval", lambda: None)() is not None
        self.trial_ids: set[int] = set()
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        if self.enabled:
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        if self.enabled:
            self.thread.join()

    def add(self, trial_id: int) -> None:
        if not self.enabled:
            return
        self.storage.set_trial_system_attr(trial_id, HEARTBEAT_S, self.interval_s)  # fail_dead
        self.storage.record_heartbeat(trial_id)
        with self.lock:
            self.trial_ids.add(trial_id)

    def discard(self, trial_id: int) -> None:
        """Beat no more for the trial; once this returns, no beat for it is on its way (the
        trial is told next: a late beat would stamp a trial that has ended)."""
        with self.lock:
            self.trial_ids.discard(trial_id)

    def _beat(self) -> None:
        while not self.stopped.wait(self.interval_s):
            with self.lock:  # held while beating: `discard` waits for a beat under way
                for beating in self.trial_ids:
                    self._beat_for(beating)

    def _beat_for(self, trial_id: int) -> None:
        try:
            self.storage.record_heartbeat(trial_id)
        except _HICCUPS as err:  # a database hiccup: beat again
            log(f"heartbeat of trial id {trial_id} not recorded ({type(err).__name__}); "
                f"retrying in {self.interval_s:g} s")  # fmt: skip


def fail_dead(study: optuna.Study, interval_s: float) -> None:
    """FAIL the running trials whose driver died, each judged by the beats its own driver
    promised (HEARTBEAT_S, which `Heartbeat.add` records; `interval_s`, this driver's, where
    none is), so that drivers run with different --heartbeat never fail each other's live
    trials. One silent for GRACE_BEATS beats is queued again (search.retry, with only what
    it was sampled as) to resume from its checkpoint. One that never beat and is older than
    that is orphaned: its driver died between creating it and its first beat, before it
    trained; only a published design or a retry is queued again (a sampled one is not: the
    sampler draws anew)."""
    storage = rdb_of(study)
    if storage is None or not storage.heartbeat_interval:
        return
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    if not running:
        return
    with storage.engine.connect() as connection:  # the database's clock, as beats are stamped
        now = connection.execute(sqlalchemy.select(sqlalchemy.func.now())).scalar_one()
        beats = dict(connection.execute(_BEATS, {"ids": [trial_id(t) for t in running]}).all())
    for trial in running:
        grace_s = GRACE_BEATS * trial.system_attrs.get(HEARTBEAT_S, interval_s)
        grace, beat = timedelta(seconds=grace_s), beats.get(trial_id(trial))
        started = trial.datetime_start or datetime.now()  # local time, as Optuna stamps it
        if beat is not None and now.replace(tzinfo=None) - beat > grace:
            queued = can_retry(trial)
            then = "queued again" if queued else NOT_RETRIED
            _fail(study, storage, trial, f"no heartbeat for {grace_s:g} s: its driver died; {then}",
                  again=queued)  # fmt: skip
        elif beat is None and datetime.now() - started > grace:
            queued = DESIGN in trial.user_attrs or retried_from(trial) is not None
            again = queued and can_retry(trial)
            then = "; queued again" if again else f"; {NOT_RETRIED}" if queued else ""
            why = f"orphaned: its driver died before the trial's first heartbeat{then}"
            _fail(study, storage, trial, why, again=again)


def _fail(
    study: optuna.Study, storage: optuna.storages.RDBStorage, trial: FrozenTrial, why: str,
    again: bool,
) -> None:  # fmt: skip
    """FAIL the trial saying `why`, and queue it again if `again`, unless another driver did."""
    try:
        storage.set_trial_user_attr(trial_id(trial), FAIL_REASON, why)
        if not storage.set_trial_state_values(trial_id(trial), TrialState.FAIL):
            return
    except optuna.exceptions.UpdateFinishedTrialError:
        return  # another driver got there first
    if again:
        retry(study, as_sampled(storage.get_trial(trial_id(trial))))

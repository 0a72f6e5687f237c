"""The driver's heartbeat: one thread beats for every trial this process has running.

A trial training here or on a Ray worker is alive as long as its driver is; if the driver dies
(SIGKILL, preemption), the beats stop, and after the storage's grace period any process running
the study fails the trial and queues it again (`storage.RETRY`). A Ray worker that dies while
its driver lives is seen by Ray at once, and the driver retries that trial itself.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import optuna
import sqlalchemy
from optuna.trial import TrialState

from search.console import log
from search.trial import FAIL_REASON, rdb_of, trial_id

__all__ = ["Heartbeat", "fail_orphans"]

_HICCUPS = (sqlalchemy.exc.SQLAlchemyError, optuna.exceptions.StorageInternalError)
# Optuna's table of heartbeats (its schema, stable since 2.9): which of some trials have beaten
_BEATEN = sqlalchemy.text(
    "SELECT trial_id FROM trial_heartbeats WHERE trial_id IN :ids"
).bindparams(sqlalchemy.bindparam("ids", expanding=True))


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
        self.storage.record_heartbeat(trial_id)
        with self.lock:
            self.trial_ids.add(trial_id)

    def discard(self, trial_id: int) -> None:
        with self.lock:
            self.trial_ids.discard(trial_id)

    def _beat(self) -> None:
        while not self.stopped.wait(self.interval_s):
            with self.lock:
                trial_ids = list(self.trial_ids)
            for beating in trial_ids:
                try:
                    self.storage.record_heartbeat(beating)
                except _HICCUPS as err:  # a database hiccup: beat again
                    log(f"heartbeat of trial id {beating} not recorded ({type(err).__name__}); "
                        f"retrying in {self.interval_s:g} s")  # fmt: skip


def fail_orphans(study: optuna.Study, grace_s: float) -> None:
    """FAIL the RUNNING trials older than `grace_s` that never beat: their driver died (SIGKILL)
    between creating them and its first heartbeat, so no heartbeat will ever turn stale.

    They had not started training; they are not queued again.
    """
    storage = rdb_of(study)
    if storage is None or not storage.heartbeat_interval:
        return
    cutoff = datetime.now() - timedelta(seconds=grace_s)  # Optuna stamps trials in local time
    old = {
        trial_id(t)
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if t.datetime_start is not None and t.datetime_start < cutoff
    }
    if not old:
        return
    with storage.engine.connect() as connection:
        beaten = set(connection.execute(_BEATEN, {"ids": sorted(old)}).scalars())
    for orphan in old - beaten:
        try:
            storage.set_trial_user_attr(orphan, FAIL_REASON, "orphaned: its driver died "
                                        "before the trial's first heartbeat")  # fmt: skip
            storage.set_trial_state_values(orphan, TrialState.FAIL)
        except optuna.exceptions.UpdateFinishedTrialError:
            pass  # another driver got there first

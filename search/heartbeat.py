"""The driver's heartbeat: one thread beats for every trial this process has running.

A trial training here or on a Ray worker is alive as long as its driver is; if the driver dies
(SIGKILL, preemption), the beats stop, and after the storage's grace period any process running
the study fails the trial and queues it again (`storage.RETRY`). A Ray worker that dies while
its driver lives is seen by Ray at once, and the driver retries that trial itself.
"""

from __future__ import annotations

import threading

import optuna
import sqlalchemy

from search.console import log

__all__ = ["Heartbeat"]


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
            for trial_id in trial_ids:
                try:
                    self.storage.record_heartbeat(trial_id)
                except sqlalchemy.exc.SQLAlchemyError as err:  # a database hiccup: beat again
                    log(f"heartbeat of trial id {trial_id} not recorded ({type(err).__name__}); "
                        f"retrying in {self.interval_s:g} s")  # fmt: skip

"""Trials that never beat, found in Optuna's heartbeat table read directly, on every backend."""

import time

import optuna
from optuna.trial import TrialState

from search.heartbeat import fail_orphans
from search.trial import FAIL_REASON, trial_id
from storage import open_storage


def test_only_running_trials_older_than_the_grace_that_never_beat_are_failed(storage_url):
    backend = open_storage(storage_url, heartbeat_s=1).backend
    study = optuna.create_study(storage=backend)
    orphan, live = study.ask(), study.ask()
    backend.record_heartbeat(trial_id(live))
    time.sleep(1.2)
    young = study.ask()  # within the grace: its driver may not have beaten yet
    fail_orphans(study, grace_s=1.0)
    fail_orphans(study, grace_s=1.0)  # again, as every driver does: nothing changes
    states = {t.number: t.state for t in study.get_trials()}
    assert states == {orphan.number: TrialState.FAIL, live.number: TrialState.RUNNING,
                      young.number: TrialState.RUNNING}  # fmt: skip
    reason = study.get_trials()[orphan.number].user_attrs[FAIL_REASON]
    assert reason.startswith("orphaned: its driver died")

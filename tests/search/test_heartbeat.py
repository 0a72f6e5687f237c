"""Dead drivers' trials, found in Optuna's heartbeat table read directly, on every backend."""

import threading
import time

import optuna
from optuna.trial import TrialState

from search.heartbeat import HEARTBEAT_S, Heartbeat, fail_dead
from search.trial import DESIGN, FAIL_REASON, RESUME_ERROR, frozen, retried_from, trial_id
from storage import open_storage


def test_each_trial_is_judged_by_its_own_drivers_beats_and_only_the_dead_are_failed(storage_url):
    """Beats every second here; one driver beats every 30 s (--heartbeat 30): its live trial
    is not failed by this one's three seconds. A stale trial is queued again with only what it
    was sampled as; one that never beat is orphaned and not queued again, unless it is a
    published design (or a retry): the sampler would never propose it again."""
    backend = open_storage(storage_url, heartbeat_s=1).backend
    study = optuna.create_study(storage=backend, direction="maximize")
    orphan, live, slow, stale, orphan_design = (study.ask() for _ in range(5))
    orphan_design.set_user_attr(DESIGN, "ResNet-20")
    stale.set_user_attr(DESIGN, "WRN-16-2")  # what it was sampled as
    stale.set_user_attr(RESUME_ERROR, "checkpoint ... differs")  # how its own run went
    with Heartbeat(backend, 30) as other_driver:
        other_driver.add(trial_id(slow))
    for trial in (live, stale):
        backend.record_heartbeat(trial_id(trial))
    time.sleep(4.2)  # three beats of 1 s, and SQLite stamps whole seconds
    backend.record_heartbeat(trial_id(live))
    young = study.ask()  # within the grace: its driver may not have beaten yet
    fail_dead(study, 1)
    fail_dead(study, 1)  # again, as every driver does: nothing changes
    trials = study.get_trials()
    retry, design_again = trials[-2:]
    numbers = {state: [t.number for t in trials if t.state == state] for state in TrialState}
    assert numbers[TrialState.FAIL] == [orphan.number, stale.number, orphan_design.number]
    assert numbers[TrialState.RUNNING] == [live.number, slow.number, young.number]
    assert numbers[TrialState.WAITING] == [retry.number, design_again.number]
    assert frozen(slow).system_attrs[HEARTBEAT_S] == 30
    reason = frozen(orphan).user_attrs[FAIL_REASON]
    assert reason == "orphaned: its driver died before the trial's first heartbeat"
    reason = frozen(stale).user_attrs[FAIL_REASON]
    assert reason == "no heartbeat for 3 s: its driver died; queued again"
    assert retried_from(retry) == stale.number and retry.user_attrs == {DESIGN: "WRN-16-2"}
    reason = frozen(orphan_design).user_attrs[FAIL_REASON]
    assert reason == "orphaned: its driver died before the trial's first heartbeat; queued again"
    assert retried_from(design_again) == orphan_design.number
    assert design_again.user_attrs == {DESIGN: "ResNet-20"}


def test_once_a_trial_is_discarded_no_beat_for_it_is_on_its_way(storage_url, monkeypatch):
    """`discard` waits for a beat under way, and no beat comes after it: the driver tells the
    trial next, and a late beat would stamp a trial that has ended."""
    backend = open_storage(storage_url, heartbeat_s=1).backend
    study = optuna.create_study(storage=backend)
    trial = study.ask()
    beating, go_on, record = threading.Event(), threading.Event(), backend.record_heartbeat

    def slow_beat(beating_id: int) -> None:  # the database slow to answer a beat
        beating.set()
        go_on.wait(10)
        record(beating_id)

    with Heartbeat(backend, 0.01) as beats:
        beats.add(trial_id(trial))
        monkeypatch.setattr(backend, "record_heartbeat", slow_beat)
        assert beating.wait(10)  # a beat is under way
        discarding = threading.Thread(target=beats.discard, args=(trial_id(trial),))
        discarding.start()
        discarding.join(0.3)
        assert discarding.is_alive()  # it waits for the beat under way
        go_on.set()
        discarding.join(10)
        late: list[int] = []
        monkeypatch.setattr(backend, "record_heartbeat", late.append)
        time.sleep(0.2)  # twenty beats' time: none comes for the trial
    assert late == []

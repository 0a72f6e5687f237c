"""Warm start: a new `resnet_budget` study trains the published designs within its budget first,
on every storage backend; `--no-warm-start` and resuming enqueue none."""

import datetime
import io
import os
import signal
import time
from contextlib import redirect_stderr

import optuna
import pytest
from optuna.trial import TrialState

from search import Fidelity, RunOptions, run_search
from search.study import CREATING, CREATION_GRACE_S, WARM_START, Search
from search.trial import DESIGN, retried_from
from spaces import designs_within
from tests.search.standins import Recorder, standin_train
from trainers import TrainConfig


@pytest.fixture(autouse=True)
def data(monkeypatch, fake_cifar):
    monkeypatch.setenv("SEARCH_DATA_DIR", str(fake_cifar))


def run(url, trials, train_fn=standin_train, **options):
    options = {"epochs": 2, "train_subset": 500, "val_size": 500, "seed": 0, **options}
    err = io.StringIO()
    with redirect_stderr(err):
        study = run_search(RunOptions(study="w", trials=trials, storage=url, **options), train_fn)
    return study, err.getvalue()


def test_a_new_study_trains_the_designs_within_budget_first(storage_url):
    budget = 1_000_000
    fit, others = designs_within(budget)
    recorder = Recorder()
    study, said = run(storage_url, len(fit) + 3, recorder, budget=budget, pruner="none")
    trials = [t for t in study.get_trials() if t.state == TrialState.COMPLETE]
    first = trials[: len(fit)]
    assert [t.user_attrs[DESIGN] for t in first] == [d.name for d in fit]
    assert [t.number for t in first] == list(range(len(fit)))  # before any sampled trial
    for trial, design, config in zip(first, fit, recorder.configs, strict=False):
        expected = design.config(budget)
        assert config.model == expected.model and config.optim == expected.optim
        assert config.epochs == 2 and config.data.train_subset == 500  # the run's fidelity
        assert TrainConfig.from_dict(trial.user_attrs["config"]) == config
        assert trial.user_attrs["n_params"] == design.n_params
    assert not any(DESIGN in t.user_attrs for t in study.get_trials()[len(fit) :])
    first_two = "WRN-16-2 (0.69M), ResNet-20 (0.27M)"  # fewest blocks first
    assert f"warm start: {len(fit)} published designs first: {first_two}" in said
    assert "ResNet-110 (over)" in said and all(d.name in said for d in others)


def test_no_warm_start_and_resuming_enqueue_none(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    study, said = run(url, 3, budget=1_000_000, warm_start=False)
    assert not any(DESIGN in t.user_attrs for t in study.get_trials())
    assert "warm start" not in said
    url = f"sqlite:///{tmp_path}/t.db"
    study, _ = run(url, 1, budget=1_000_000)  # 1 trained, 4 zoo designs still queued
    assert [t.state for t in study.get_trials()].count(TrialState.WAITING) == 4
    again, said = run(url, 7, budget=1_000_000)
    zoo = [t.user_attrs[DESIGN] for t in again.get_trials() if DESIGN in t.user_attrs]
    assert zoo == [d.name for d in designs_within(1_000_000)[0]]  # each once, queued ones resumed
    assert "warm start" not in said


def test_a_user_space_gets_no_designs(tmp_path):
    study, said = run(f"sqlite:///{tmp_path}/s.db", 2, space="tests/data/tiny_space.py",
                      budget=1_000_000)  # fmt: skip
    assert not any(DESIGN in t.user_attrs for t in study.get_trials())
    assert "warm start: none" in said


def test_a_study_stopped_while_it_is_made_is_made_whole_first(tmp_path, monkeypatch):
    """SIGTERM as `search run` writes a new study waits until its designs are queued: a study
    found is resumed, never made again, so a half-made one would never queue them."""
    import optuna_dashboard

    save_note = optuna_dashboard.save_note

    def stopped_meanwhile(study, note):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)  # held: raised once the study is whole
        save_note(study, note)

    monkeypatch.setattr(optuna_dashboard, "save_note", stopped_meanwhile)
    url = f"sqlite:///{tmp_path}/s.db"
    with pytest.raises(KeyboardInterrupt):
        run(url, 3, budget=1_000_000)
    study = optuna.load_study(study_name="w", storage=url)
    queued = [t.user_attrs[DESIGN] for t in study.get_trials() if t.state == TrialState.WAITING]
    assert queued == [d.name for d in designs_within(1_000_000)[0]]
    assert len(study.get_trials()) == len(queued)  # stopped before the loop


def half_made(url, seconds_ago, designs=0):
    """The study a creator killed (SIGKILL: it cannot be held off) left: begun `seconds_ago`,
    its settings written and `designs` of its designs queued when `designs` > 0."""
    study = optuna.create_study(study_name="w", storage=url, direction="maximize")
    begun = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=seconds_ago)
    study.set_user_attr(CREATING, begun.isoformat())
    if designs:
        search = Search("resnet_budget", 1_000_000, Fidelity(2, 500, 500))
        for key, value in search.attrs().items():
            study.set_user_attr(key, value)
        for design in designs_within(1_000_000)[0][:designs]:  # as warm_start queues them
            study.enqueue_trial(design.trial_params(1_000_000), user_attrs={DESIGN: design.name})
    return study


@pytest.mark.parametrize("designs", [0, 2], ids=["no-settings", "2-designs-queued"])
def test_a_study_its_creator_left_half_made_gets_its_designs_once(tmp_path, designs):
    url = f"sqlite:///{tmp_path}/s.db"
    half_made(url, CREATION_GRACE_S + 1, designs)
    study, said = run(url, 1, budget=1_000_000)
    assert "was left half-made by a process that died; making it whole" in said
    names = [d.name for d in designs_within(1_000_000)[0]]
    queued = [t.user_attrs[DESIGN] for t in study.get_trials() if DESIGN in t.user_attrs]
    assert sorted(queued) == sorted(names)  # each once
    assert study.user_attrs[WARM_START] == names
    assert study.user_attrs["command"].startswith("search")  # the command export names
    _, said = run(url, 2, budget=1_000_000)
    assert "half-made" not in said and "warm start" not in said


def test_a_study_being_made_or_made_before_the_marker_is_left_as_it_is(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    half_made(url, 1)  # its creator may still be writing it
    study, said = run(url, 1, budget=1_000_000)
    assert "half-made" not in said and not any(DESIGN in t.user_attrs for t in study.trials)
    old = optuna.create_study(study_name="w", storage=f"sqlite:///{tmp_path}/o.db",
                              direction="maximize")  # fmt: skip  # an earlier version's
    study, said = run(f"sqlite:///{tmp_path}/o.db", 1, budget=1_000_000)
    assert "half-made" not in said and not any(DESIGN in t.user_attrs for t in study.trials)
    assert old.study_name == study.study_name


def test_a_new_study_records_when_its_making_began_and_the_designs_it_queued(tmp_path):
    study, _ = run(f"sqlite:///{tmp_path}/s.db", 1, budget=1_000_000)
    assert study.user_attrs[WARM_START] == [d.name for d in designs_within(1_000_000)[0]]
    assert datetime.datetime.fromisoformat(study.user_attrs[CREATING]).tzinfo is not None


def test_drivers_that_make_one_study_whole_at_once_queue_each_design_once(tmp_path, monkeypatch):
    """Two drivers resume a half-made study at the same moment: each reads that the designs
    are missing and queues them; the later copies are dropped, so each design trains once."""
    import search.study
    from search.warm_start import warm_start

    def both_drivers(study, *args):
        warm_start(study, *args)  # the other driver's, landed just before this one's
        return warm_start(study, *args)

    monkeypatch.setattr(search.study, "warm_start", both_drivers)
    url = f"sqlite:///{tmp_path}/s.db"
    half_made(url, CREATION_GRACE_S + 1)
    study, said = run(url, 1, budget=1_000_000)
    names = [d.name for d in designs_within(1_000_000)[0]]
    dropped = [t for t in study.get_trials() if t.state == TrialState.FAIL]
    kept = [t.user_attrs[DESIGN] for t in study.get_trials() if t.state != TrialState.FAIL]
    assert kept == names and len(dropped) == len(names)
    assert [t.user_attrs["fail_reason"] for t in dropped] == [
        f"queued twice: a copy of #{n}" for n in range(len(names))
    ]
    assert f"{len(names)} of the designs another process queued too are dropped" in said


def test_a_creator_held_up_past_the_grace_drops_its_own_copies(tmp_path, monkeypatch):
    """The creator stalls (SIGSTOP, a lock wait) for over a minute before queuing the designs;
    another run meanwhile finds the study half-made and queues them. The creator's copies,
    queued after, are dropped: the other run's may already train."""
    import optuna_dashboard

    from search.study import create_or_resume
    from storage import open_storage

    save_note = optuna_dashboard.save_note
    url = f"sqlite:///{tmp_path}/s.db"

    def held_up(study, note):
        begun = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=61)
        study.set_user_attr(CREATING, begun.isoformat())  # as if a minute had passed
        search = Search("resnet_budget", 1_000_000, Fidelity(2, 500, 500))
        create_or_resume(open_storage(url), "w", search, seed=None)  # the other run
        save_note(study, note)

    monkeypatch.setattr(optuna_dashboard, "save_note", held_up)
    study, said = run(url, 1, budget=1_000_000)
    names = [d.name for d in designs_within(1_000_000)[0]]
    kept = [t.user_attrs[DESIGN] for t in study.get_trials() if t.state != TrialState.FAIL]
    assert kept == names and "of the designs another process queued too are dropped" in said


def test_a_retry_of_a_design_is_no_double(tmp_path):
    """A run within the grace was stopped on a design, leaving its retry queued: making the
    study whole keeps the retry (it is the design run again, not a copy)."""
    from search.retry import retry

    url = f"sqlite:///{tmp_path}/s.db"
    study = half_made(url, CREATION_GRACE_S + 1, designs=2)
    first = study.ask()  # design #0, stopped
    study.tell(first, state=TrialState.FAIL)
    retry(study, study.trials[first.number])
    study, _ = run(url, 1, budget=1_000_000)
    again = [t for t in study.get_trials() if retried_from(t) == first.number]
    assert len(again) == 1 and again[0].state != TrialState.FAIL


def test_a_half_made_study_is_said_to_be_half_made_by_the_views(tmp_path):
    """Not "not made by `search run`": the same `search run` makes it whole."""
    from errors import UserError
    from search.study import load_study
    from storage import open_storage

    url = f"sqlite:///{tmp_path}/s.db"
    half_made(url, CREATION_GRACE_S + 1)
    with pytest.raises(UserError, match="study 'w' is half-made: a `search run` began it"):
        load_study(open_storage(url, must_exist=True), None)

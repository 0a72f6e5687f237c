"""Warm start: a new `resnet_budget` study trains the published designs within its budget first,
on every storage backend; `--no-warm-start` and resuming enqueue none."""

import io
import os
import signal
import time
from contextlib import redirect_stderr

import optuna
import pytest
from optuna.trial import TrialState

from search import RunOptions, run_search
from search.trial import DESIGN
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

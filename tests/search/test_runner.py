"""One trial's life, through the driver loop in this process, on every storage backend."""

import datetime
import tempfile
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from errors import UserError
from search import Fidelity, is_budget_rejected, is_trained
from search.executors import LocalExecutor
from search.plan import Plan
from search.progress import TrialProgress
from search.runner import run_trials
from search.trial import DESIGN, IMAGES_PER_S, reason, retried_from
from spaces import designs_within, get_space
from storage import open_storage
from tests.search.standins import (
    BadInputOnEveryWorker,
    DyingWorker,
    Recorder,
    Timed,
    diverging_train,
    standin_train,
)
from trainers import TrainConfig

FIDELITY = Fidelity(epochs=3, train_subset=1000, val_size=5000)
SPACE = get_space("resnet_budget")


def run(study, trained, train_fn, budget=5_000_000, space=SPACE, fidelity=FIDELITY):
    progress = TrialProgress()
    executor = LocalExecutor(train_fn, {"device": "cpu"})
    checkpoints = Path(tempfile.mkdtemp())
    run_trials(study, Plan(space, fidelity, budget, trained, checkpoints), executor, progress)


def test_over_budget_trials_are_pruned_before_training_on_every_backend(storage_url):
    budget = 400_000
    recorder = Recorder()
    study = optuna.create_study(
        storage=open_storage(storage_url).backend, direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=0), pruner=optuna.pruners.NopPruner(),
    )  # fmt: skip
    run(study, 10, recorder, budget)
    trials = study.get_trials()
    rejected = [t for t in trials if is_budget_rejected(t)]
    trained = [t for t in trials if is_trained(t)]
    assert rejected and len(trained) == 10 and len(rejected) + len(trained) == len(trials)
    for t in rejected:
        assert t.state == TrialState.PRUNED
        assert t.user_attrs["n_params"] > budget
        assert t.user_attrs["pruned_reason"] == (
            f"budget: {t.user_attrs['n_params']:,} > {budget:,} parameters"
        )
        assert t.constraints["budget"] == t.user_attrs["n_params"] - budget
        assert not t.intermediate_values and "device" not in t.user_attrs
    assert len(recorder.configs) == len(trained)  # the trainer never saw a rejected config
    for t, config in zip(trained, recorder.configs, strict=True):
        assert t.user_attrs["n_params"] <= budget and t.constraints["budget"] <= 0
        assert TrainConfig.from_dict(t.user_attrs["config"]) == config
        assert config.epochs == 3 and config.data.train_subset == 1000
        assert t.user_attrs["device"] == "cpu" and t.user_attrs["images_per_s"] == 1000.0
        assert sorted(t.intermediate_values) == [1, 2, 3]
        assert t.value == pytest.approx(t.intermediate_values[3])


def test_a_trial_the_pruner_stops_says_why_and_counts_as_trained():
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.RandomSampler(seed=1),
        pruner=optuna.pruners.ThresholdPruner(lower=1.0),  # prunes every trial it may
    )  # fmt: skip
    run(study, 5, standin_train)
    trained = [t for t in study.trials if is_trained(t)]
    assert len(trained) == 5
    for t in trained:
        assert t.state == TrialState.PRUNED
        assert t.user_attrs["pruned_reason"].startswith("pruner: validation accuracy ")
        assert list(t.intermediate_values) == [1]
        assert "val_loss" in t.user_attrs and "images_per_s" in t.user_attrs


def test_the_last_epoch_never_prunes():
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(1.0))
    run(study, 3, standin_train, fidelity=Fidelity(epochs=1, train_subset=1000, val_size=5000))
    assert [t.state for t in study.trials if is_trained(t)] == [TrialState.COMPLETE] * 3


def test_no_trial_starts_after_the_deadline_and_the_running_ones_finish(storage_url):
    study = optuna.create_study(storage=open_storage(storage_url).backend, direction="maximize")
    executor = LocalExecutor(Timed(0.1), {"device": "cpu"})  # 0.3 s a trial
    checkpoints = Path(tempfile.mkdtemp())
    deadline, wall_deadline = time.monotonic() + 1.0, datetime.datetime.now().timestamp() + 1.0
    plan = Plan(SPACE, FIDELITY, 5_000_000, 1_000, checkpoints, deadline=deadline)
    run_trials(study, plan, executor, TrialProgress())
    overrun = time.monotonic() - deadline
    trained = [t for t in study.get_trials() if is_trained(t)]
    assert 1 <= len(trained) <= 4 and all(t.state == TrialState.COMPLETE for t in trained)
    assert TrialState.RUNNING not in {t.state for t in study.get_trials()}
    last = max(t.datetime_start.timestamp() for t in trained)
    assert last <= wall_deadline + 0.05  # started before the deadline: not one after it
    assert 0 <= overrun < 0.3 + 1.0  # the one running finished; no new one started


class _DeadlineInLaunch:
    """`search.runner`'s clock: before the deadline at the loop's first look, after it from
    then on (it passes inside `launch`); `sleep` only records."""

    def __init__(self, deadline: float) -> None:
        self.deadline, self.looks, self.slept = deadline, 0, []

    def monotonic(self) -> float:
        self.looks += 1
        return self.deadline - 1.0 if self.looks == 1 else self.deadline + 1.0

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def test_a_deadline_that_passes_inside_launch_ends_the_run_without_waiting(monkeypatch, capsys):
    import search.runner

    clock = _DeadlineInLaunch(deadline=1000.0)
    monkeypatch.setattr(search.runner, "time", clock)
    study, recorder = optuna.create_study(direction="maximize"), Recorder()
    plan = Plan(SPACE, FIDELITY, 5_000_000, 3, Path(tempfile.mkdtemp()), deadline=1000.0)
    run_trials(study, plan, LocalExecutor(recorder, {"device": "cpu"}), TrialProgress())
    assert clock.looks >= 2 and not study.trials and not recorder.configs
    assert clock.slept == []  # no heartbeat's wait for others: none run anywhere
    err = capsys.readouterr().err
    assert "time is up" in err and "waiting for trials" not in err


def test_diverged_trials_fail_with_their_reason_until_the_run_gives_up(monkeypatch):
    import search.runner

    monkeypatch.setattr(search.runner, "MAX_UNTRAINED_IN_A_ROW", 4)
    study = optuna.create_study(direction="maximize")
    with pytest.raises(UserError, match="4 trials in a row did not train"):
        run(study, 3, diverging_train)
    failed = [t for t in study.trials if t.state == TrialState.FAIL]
    assert failed
    assert all(t.user_attrs["fail_reason"].startswith("diverged: ") for t in failed)
    assert not [t for t in study.trials if t.state == TrialState.RUNNING]


def test_a_space_that_fails_during_the_study_fails_its_trials_until_the_run_gives_up(
    monkeypatch,
):
    import search.runner

    monkeypatch.setattr(search.runner, "MAX_UNTRAINED_IN_A_ROW", 3)

    def broken(trial):
        return {"model": {}}

    study = optuna.create_study(direction="maximize")
    with pytest.raises(UserError, match=r"3 trials in a row did not train \(the last: space 'br"):
        run(study, 1, standin_train, space=broken)
    assert [t.state for t in study.trials] == [TrialState.FAIL] * 3
    for t in study.trials:
        assert t.user_attrs["fail_reason"] == (
            "space 'broken' returned dict; allowed: a trainers.TrainConfig"
        )


def test_a_trial_whose_training_raises_fails_and_the_next_one_trains():
    calls = []

    def faulty_once(config, report=None, **kwargs):
        calls.append(config)
        if len(calls) == 1:
            raise RuntimeError("value cannot be converted to type float without overflow")
        return standin_train(config, report, **kwargs)

    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.NopPruner())
    run(study, 2, faulty_once)
    sampled = [t for t in study.trials if not is_budget_rejected(t)]
    assert [t.state for t in sampled] == [TrialState.FAIL, *[TrialState.COMPLETE] * 2]
    assert sampled[0].user_attrs["fail_reason"] == (
        "RuntimeError: value cannot be converted to type float without overflow"
    )


def test_a_trial_another_driver_told_first_is_left_as_it_told_it(tmp_path, capsys):
    """Two drivers may pop the same queued trial on SQLite (no row locks): the first tell wins
    and the other driver goes on without an error, and ends at once: it has the trials it
    wants, so it does not wait a heartbeat for others'."""
    url = f"sqlite:///{tmp_path}/s.db"
    study = optuna.create_study(storage=url, direction="maximize")
    other = optuna.load_study(study_name=study.study_name, storage=url)

    def train_fn(config, report=None, **kwargs):
        running = [t for t in other.get_trials() if t.state == TrialState.RUNNING]
        other.tell(running[0].number, 0.5)  # the other driver finishes it first
        return standin_train(config, report, **kwargs)

    run(study, 1, train_fn)
    first, *rest = [t for t in study.get_trials() if not is_budget_rejected(t)]  # TPE unseeded
    assert (first.state, first.value) == (TrialState.COMPLETE, 0.5)
    assert not rest  # its one place was taken: no other trial was written
    assert "waiting for trials" not in capsys.readouterr().err


def test_bad_input_met_by_every_worker_fails_every_trial_and_stops_the_run():
    """Both workers end with the same bad input: the first stops the run, and the second, met
    while the run stops, leaves no trial RUNNING (a race two Ray workers once lost)."""
    study = optuna.create_study(direction="maximize")
    plan = Plan(SPACE, FIDELITY, 5_000_000, 4, Path(tempfile.mkdtemp()))
    with pytest.raises(UserError, match="no CIFAR-10 on this worker"):
        run_trials(study, plan, BadInputOnEveryWorker(), TrialProgress())
    in_budget = [t for t in study.trials if not is_budget_rejected(t)]  # the sampler is unseeded
    assert [t.state for t in in_budget] == [TrialState.FAIL] * 2
    for t in in_budget:
        assert t.user_attrs.get("fail_reason", "").startswith("stopped: --data-dir /data")


@pytest.mark.parametrize("saves", [True, False], ids=["after-an-epoch", "before-any-epoch"])
def test_a_trial_whose_worker_dies_is_retried_three_times_and_each_record_says_what_followed(
    saves,
):
    """Each retry inherits the trial's config, not how the dead run went (its speed, its
    reason); each record says whether the retry resumes a checkpoint or starts again, and the
    last failure says it was not queued again, as it was not (its checkpoint removed)."""
    study = optuna.create_study(direction="maximize")
    worker, checkpoints = DyingWorker(saves=saves), Path(tempfile.mkdtemp())
    run_trials(study, Plan(SPACE, FIDELITY, 5_000_000, 1, checkpoints), worker, TrialProgress())
    doomed = [t for t in study.trials if worker.doomed in (t.number, retried_from(t))]
    assert [t.state for t in doomed] == [TrialState.FAIL] * 4
    how = "resume from its checkpoint" if saves else "start again"
    queued = f"worker died (X); queued to {how}"
    last = "worker died (X); not queued again: its original was retried 3 times"
    assert [reason(t) for t in doomed] == [queued] * 3 + [last]
    retries = [t for t in worker.given if retried_from(t) == worker.doomed]
    assert len(retries) == 3 and all(t.user_attrs["config"] for t in retries)
    assert not any(IMAGES_PER_S in t.user_attrs or "fail_reason" in t.user_attrs for t in retries)
    assert [reason(t) for t in retries] == [f"retry of #{worker.doomed}"] * 3
    assert not any(t.state == TrialState.WAITING for t in study.trials)
    assert not list(checkpoints.iterdir())


def test_a_trial_another_driver_completed_first_is_not_queued_again(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    study = optuna.create_study(storage=url, direction="maximize")
    other = optuna.load_study(study_name=study.study_name, storage=url)
    plan = Plan(SPACE, FIDELITY, 5_000_000, 1, tmp_path)
    run_trials(study, plan, DyingWorker(other), TrialProgress())
    trained = [t for t in study.trials if not is_budget_rejected(t)]
    assert [(t.state, t.value) for t in trained] == [(TrialState.COMPLETE, 0.5)]


def queue_designs(study, count):
    for design in designs_within(5_000_000)[0][:count]:
        study.enqueue_trial(design.trial_params(5_000_000), user_attrs={DESIGN: design.name})


def test_a_retry_runs_before_the_designs_still_queued(storage_url):
    """What was cut off resumes first, as the same command promises: before, a retry waited
    behind every published design still queued, and a run whose --trials the designs filled
    ended with it queued and its checkpoint left behind."""
    study = optuna.create_study(storage=open_storage(storage_url).backend, direction="maximize")
    queue_designs(study, 3)  # #0-#2
    worker, checkpoints = DyingWorker(), Path(tempfile.mkdtemp())
    run_trials(study, Plan(SPACE, FIDELITY, 5_000_000, 1, checkpoints), worker, TrialProgress())
    assert [t.number for t in worker.given] == [0, 3, 4, 5, 1]  # #0 and its 3 retries, then #1
    assert [t.state for t in study.trials[1:3]] == [TrialState.COMPLETE, TrialState.WAITING]

"""The pruners' first rung: no trial is stopped before the fraction of training where the
measured ranking of configs holds (rank correlation >= 0.8 with the final accuracy)."""

import io
from contextlib import redirect_stderr

import optuna
import pytest

from search import RunOptions, is_trained, run_search
from search.pruning import (
    MIN_RANK_CORRELATION,
    RANK_CORRELATION,
    describe_pruner,
    first_rung,
    make_pruner,
    rungs,
)
from tests.search.standins import standin_train


@pytest.mark.parametrize(("epochs", "rung"), [(30, 5), (20, 3), (2, 1), (1, 1), (3, 1), (7, 2),
                                              (100, 15), (200, 30)])  # fmt: skip
def test_the_first_rung_is_fifteen_percent_of_the_epochs_rounded_up(epochs, rung):
    assert first_rung(epochs) == rung


def test_no_rung_falls_where_the_measured_ranking_is_below_the_minimum():
    trusted = [k / 20 for k, rho in RANK_CORRELATION.items() if rho >= MIN_RANK_CORRELATION]
    for epochs in range(1, 201):
        assert first_rung(epochs) / epochs >= min(trusted) or first_rung(epochs) == epochs == 1
        assert all(r < epochs for r in rungs(epochs))
    assert rungs(30) == [5, 15] and rungs(20) == [3, 9] and rungs(2) == [1] and rungs(1) == []


def _stops_at(pruner: optuna.pruners.BasePruner, epochs: int) -> set[int]:
    """The epochs at which `pruner` stopped the 40 later trials of a study whose accuracy
    grows with the trial's (random) quality, each trial reporting every epoch."""
    study = optuna.create_study(direction="maximize", pruner=pruner,
                                sampler=optuna.samplers.RandomSampler(seed=0))  # fmt: skip
    stopped = set()
    for _ in range(45):
        trial = study.ask()
        quality = trial.suggest_float("quality", 0, 1)
        for epoch in range(1, epochs + 1):
            trial.report(quality * epoch / epochs, epoch)
            if epoch < epochs and trial.should_prune():
                stopped.add(epoch)
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                break
        else:
            study.tell(trial, quality)
    return stopped


@pytest.mark.parametrize("name", ["sha", "hyperband", "median"])
@pytest.mark.parametrize("epochs", [30, 20, 2])
def test_every_pruner_stops_trials_only_from_the_first_rung_on(name, epochs):
    stopped = _stops_at(make_pruner(name, epochs), epochs)
    assert stopped, "the pruner stopped nothing: the test shows nothing"
    assert min(stopped) == first_rung(epochs)


def test_the_run_says_where_its_pruner_decides():
    assert describe_pruner("sha", 30) == (
        "sha: stops trials at epochs 5, 15 of 30, keeping the best third at each"
    )
    assert describe_pruner("median", 20) == (
        "median: from epoch 3 of 20, stops trials below the median"
    )
    assert describe_pruner("sha", 1) == "sha: every trial trains its 1 epoch"
    assert describe_pruner("none", 30) == "none: every trial trains its 30 epochs"


def test_a_real_study_with_the_default_pruner_stops_no_trial_before_its_first_rung(
    tmp_path, fake_cifar
):
    options = RunOptions(study="p", trials=25, storage=f"sqlite:///{tmp_path}/p.db", epochs=30,
                         train_subset=1000, data_dir=fake_cifar, seed=0)  # fmt: skip
    assert options.pruner == "sha"
    with redirect_stderr(io.StringIO()):
        study = run_search(options, standin_train)
    pruned = [t for t in study.trials if is_trained(t) and t.state.name == "PRUNED"]
    assert pruned, "nothing was pruned: the test shows nothing"
    assert {max(t.intermediate_values) for t in pruned} <= {5, 15}
    assert any(max(t.intermediate_values) == 5 for t in pruned)

"""A pruned trial's partial score never counts as a final score: Optuna stores a pruned trial's
last reported accuracy as its value, and status, export, report, the gain line and the run's
summary must not take it for one."""

import math

import optuna
import pandas as pd
import pytest
import yaml
from optuna.trial import TrialState

from search.trial import CONFIG, DESIGN, N_PARAMS, PRUNED_REASON
from search.views.export import best_trial
from search.views.gain import gain
from search.views.report import trials_frame
from search.views.table import trials_table
from trainers import TrainConfig

PARTIAL = 0.95  # what the pruned trial reported after epoch 1: above every finished trial


def _trial(study, epochs_reported, final=None, **attrs):
    """Ask, report per epoch as the trainer does, and tell as the driver does: COMPLETE with
    `final`, else PRUNED (Optuna then stores the last reported value as the trial's value)."""
    trial = study.ask()
    trial.suggest_float("lr", 0.01, 0.5)
    trial.set_user_attr(CONFIG, TrainConfig().to_dict())
    trial.set_user_attr(N_PARAMS, 1_000_000)
    for key, value in attrs.items():
        trial.set_user_attr(key, value)
    for epoch, value in enumerate(epochs_reported, start=1):
        trial.report(value, epoch)
    if final is None:
        study.tell(trial, state=TrialState.PRUNED)
    else:
        study.tell(trial, final)


@pytest.fixture
def study(tmp_path):
    storage = f"sqlite:///{tmp_path}/p.db"
    study = optuna.create_study(study_name="p", storage=storage, direction="maximize")
    study.set_user_attr("space", "resnet_budget")  # as `search run` records it
    _trial(study, [0.5, 0.8], 0.8, **{DESIGN: "ResNet-20"})
    _trial(study, [0.4, 0.7], 0.7)
    reason = f"pruner: validation accuracy {PARTIAL:.4f} after epoch 1 of 2"
    _trial(study, [PARTIAL], **{PRUNED_REASON: reason})
    pruned = study.trials[-1]
    assert pruned.state == TrialState.PRUNED and pruned.value == PARTIAL  # Optuna's convention
    return study


def test_status_leaves_a_pruned_trials_accuracy_empty_and_says_it_in_the_note(study):
    table = trials_table(study)
    columns = {column.header: list(column.cells) for column in table.columns}
    assert columns["state"] == ["COMPLETE", "COMPLETE", "PRUNED"]
    assert columns["val acc"] == ["0.8000", "0.7000", ""]
    assert "after epoch 1 of 2" in columns["note"][2]
    best = {column.header: list(column.cells) for column in trials_table(study, best=5).columns}
    assert best["#"] == ["0", "1"]


def test_the_gain_line_the_best_trial_and_the_summary_count_only_complete_trials(study):
    assert best_trial(study).number == 0
    line = gain(study.trials).line()
    assert line.startswith("best found 0.700 (1.00M, trial 1) vs best published design")
    assert str(PARTIAL)[:4] not in line


def test_export_and_status_name_the_best_complete_trial(study, cli, tmp_path):
    storage = f"sqlite:///{tmp_path}/p.db"
    result = cli("export", "--study", "p", "--storage", storage, "-o", tmp_path / "b.yaml")
    assert result.code == 0, result.err
    document = yaml.safe_load((tmp_path / "b.yaml").read_text())
    assert document["provenance"]["trial"] == 0
    assert document["metrics"]["val_accuracy"] == 0.8
    assert document["gain"]["found"]["trial"] == 1
    status = cli("status", "--study", "p", "--storage", storage)
    assert status.code == 0 and "-10.0 points" in status.out


def test_the_csv_keeps_a_pruned_trials_partial_score_apart(study, tmp_path):
    frame = trials_frame(study)
    assert list(frame["val_accuracy"][:2]) == [0.8, 0.7]
    assert math.isnan(frame["val_accuracy"][2])
    assert list(frame["last_reported_val_accuracy"]) == [0.8, 0.7, PARTIAL]
    frame.to_csv(tmp_path / "t.csv", index=False)
    assert pd.read_csv(tmp_path / "t.csv")["val_accuracy"].max() == 0.8

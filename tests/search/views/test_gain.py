"""What the search gained over the best published design, as the run, status, export and report
say it."""

import optuna
import pytest
import yaml
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from search.trial import BUDGET_CONSTRAINT, DESIGN, N_PARAMS
from search.views.gain import gain
from trainers import TrainConfig

LR = {"lr": FloatDistribution(0.01, 0.5)}


def trial(value, n_params, zoo=None, state=TrialState.COMPLETE):
    attrs = {N_PARAMS: n_params, **({DESIGN: zoo} if zoo else {})}
    return create_trial(state=state, value=value if state == TrialState.COMPLETE else None,
                        params={"lr": 0.1}, distributions=LR, user_attrs=attrs)  # fmt: skip


def numbered(trials):
    study = optuna.create_study(direction="maximize")
    for t in trials:
        study.add_trial(t)
    return study


def test_the_gain_line_says_both_and_the_difference():
    study = numbered([trial(0.897, 2_748_890, "WRN-16-4"), trial(0.85, 269_722, "ResNet-20"),
                      trial(0.912, 3_100_000), trial(0.5, 4_000_000)])  # fmt: skip
    said = gain(study.trials)
    assert said.points == pytest.approx(1.5)
    assert said.line() == ("best found 0.912 (3.10M, trial 2) vs best published design "
                           "WRN-16-4 0.897 (2.75M, trial 0): +1.5 points")  # fmt: skip
    assert said.as_dict()["published"] == {"design": "WRN-16-4", "trial": 0,
                                           "val_accuracy": 0.897, N_PARAMS: 2_748_890}  # fmt: skip


def test_with_the_validation_size_the_gain_states_its_standard_error():
    study = numbered([trial(0.897, 2_748_890, "WRN-16-4"), trial(0.912, 3_100_000)])
    said = gain(study.trials, val_size=5_000)
    # sqrt(.912 * .088 / 5000) = 0.0040 and sqrt(.897 * .103 / 5000) = 0.0043 combine to 0.0059
    assert said.points_se == pytest.approx(0.588, abs=0.001)
    assert said.line().endswith(": +1.5 points (standard error 0.6, 5,000 validation images)")
    assert said.as_dict()["points_se"] == said.points_se
    assert gain(study.trials, val_size=1_000).points_se == pytest.approx(1.31, abs=0.01)
    assert gain(study.trials).points_se is None  # a study that did not record its fidelity


def test_a_loss_is_said_as_a_loss_and_missing_sides_are_named():
    behind = gain(numbered([trial(0.9, 1_000_000, "ResNet-110"), trial(0.88, 2e6)]).trials)
    assert behind.line().endswith(": -2.0 points")
    nothing_found = gain(numbered([trial(0.9, 1_000_000, "ResNet-110")]).trials)
    assert nothing_found.points is None
    assert nothing_found.line() == ("best published design ResNet-110 0.900 (1.00M, trial 0); no "
                                    "sampled design has completed yet")  # fmt: skip
    queued = gain(numbered([trial(None, 269_722, "ResNet-20", TrialState.WAITING),
                            trial(0.7, 500_000)]).trials)  # fmt: skip
    assert queued.line().endswith("; no published design has completed yet")


def test_designs_the_pruner_stopped_are_named_as_not_compared():
    pruned = trial(None, 2_748_890, "WRN-16-4", TrialState.PRUNED)
    pruned.intermediate_values = {1: 0.2}  # a partial score: never the design's final one
    rejected = trial(None, 9_000_000, "ResNet-3x5-64", TrialState.PRUNED)
    rejected.set_constraint(BUDGET_CONSTRAINT, 1.0)  # over budget, never trained: not stopped
    study = numbered([trial(0.85, 269_722, "ResNet-20"), pruned, rejected, trial(0.86, 3e6)])
    said = gain(study.trials)
    assert said.stopped == ("WRN-16-4",)
    assert said.line() == ("best found 0.860 (3.00M, trial 3) vs best published design "
                           "ResNet-20 0.850 (0.27M, trial 0): +1.0 points; stopped early by the "
                           "pruner, so not compared: WRN-16-4")  # fmt: skip
    assert said.as_dict()["stopped_designs"] == ["WRN-16-4"]
    assert gain(numbered([trial(0.85, 269_722, "ResNet-20")]).trials).as_dict()[
        "stopped_designs"] == []  # fmt: skip


def test_a_study_without_designs_has_no_gain():
    assert gain(numbered([trial(0.9, 1_000_000)]).trials) is None


def test_status_export_and_report_state_the_gain(cli, tmp_path):
    storage = f"sqlite:///{tmp_path}/g.db"
    study = optuna.create_study(study_name="g", storage=storage, direction="maximize")
    study.set_user_attr("space", "resnet_budget")  # as `search run` records it
    for t in (trial(0.897, 2_748_890, "WRN-16-4"), trial(0.912, 3_100_000)):
        t.user_attrs["config"] = TrainConfig().to_dict()
        study.add_trial(t)
    line = "vs best published design WRN-16-4 0.897 (2.75M, trial 0): +1.5 points"
    status = cli("status", "--study", "g", "--storage", storage)
    assert status.code == 0 and line in " ".join(status.out.split())
    report = cli("report", "--study", "g", "--storage", storage, "--out", tmp_path / "r")
    assert report.code == 0 and line in (tmp_path / "r" / "index.html").read_text()
    export = cli("export", "--study", "g", "--storage", storage, "-o", tmp_path / "b.yaml")
    document = yaml.safe_load((tmp_path / "b.yaml").read_text())
    assert export.code == 0 and line in document["gain"]["line"]
    assert document["gain"]["points"] == pytest.approx(1.5)
    assert document["gain"]["published"]["design"] == "WRN-16-4" and "zoo" not in document
    assert document["gain"]["stopped_designs"] == []

import optuna
import pytest
from optuna.trial import TrialState

from search import Fidelity, Objective, is_budget_rejected, is_trained
from spaces import get_space
from storage import open_storage
from tests.search.standins import diverging_train, standin_train
from trainers import DivergedError, TrainConfig

FIDELITY = Fidelity(epochs=3, train_subset=1000, val_size=5000)


class Recorder:
    def __init__(self):
        self.configs = []

    def __call__(self, config, report=None, **kwargs):
        self.configs.append(config)
        return standin_train(config, report, **kwargs)


def test_over_budget_trials_are_pruned_before_training_on_every_backend(storage_url):
    budget = 400_000
    recorder = Recorder()
    objective = Objective(get_space("resnet_budget"), budget, FIDELITY, "cpu", recorder)
    study = optuna.create_study(
        storage=open_storage(storage_url),
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=optuna.pruners.NopPruner(),
    )
    study.optimize(objective, n_trials=20)
    trials = study.get_trials()
    rejected = [t for t in trials if is_budget_rejected(t)]
    trained = [t for t in trials if is_trained(t)]
    assert rejected and trained and len(rejected) + len(trained) == 20
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


def test_a_trial_the_pruner_stops_says_why_and_counts_as_trained():
    objective = Objective(get_space("resnet_budget"), 5_000_000, FIDELITY, "cpu", standin_train)
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=1),
        pruner=optuna.pruners.ThresholdPruner(lower=1.0),  # prunes every trial at epoch 1
    )
    study.optimize(objective, n_trials=10)
    pruned = [t for t in study.trials if not is_budget_rejected(t)]
    assert pruned
    for t in pruned:
        assert t.state == TrialState.PRUNED and is_trained(t)
        assert t.user_attrs["pruned_reason"].startswith("pruner: validation accuracy ")
        assert list(t.intermediate_values) == [1]


def test_a_diverged_trial_fails_with_its_reason_and_the_study_goes_on():
    objective = Objective(get_space("resnet_budget"), 5_000_000, FIDELITY, "cpu", diverging_train)
    study = optuna.create_study(direction="maximize")
    study.optimize(objective, n_trials=5, catch=(DivergedError,))
    trained = [t for t in study.trials if not is_budget_rejected(t)]
    assert trained
    assert all(t.state == TrialState.FAIL for t in trained)
    assert all(t.user_attrs["fail_reason"].startswith("diverged: ") for t in trained)


def test_a_space_returning_something_else_is_named():
    from trainers import UserError

    def broken(trial):
        return {"model": {}}

    objective = Objective(broken, 5_000_000, FIDELITY, "cpu", standin_train)
    with pytest.raises(UserError, match="space 'broken' returned dict; allowed: a trainers"):
        objective(optuna.create_study().ask())

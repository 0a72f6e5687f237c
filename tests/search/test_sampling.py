import optuna
import pytest

from errors import ConfigError
from search.fidelity import Fidelity
from search.sampling import sample
from trainers import ModelConfig, TrainConfig

FIDELITY = Fidelity(epochs=1, train_subset=200, val_size=100)


def picky(trial: optuna.Trial) -> TrainConfig:
    """A space that skips some configs the Optuna way, raising TrialPruned."""
    if trial.suggest_int("width", 8, 16, step=8) == 16:
        raise optuna.TrialPruned("not this one")
    return TrainConfig(model=ModelConfig(stem_width=8, depths=(1, 1), widths=(8, 16)))


def test_a_space_that_raises_trial_pruned_fails_that_trial_instead_of_counting_as_trained():
    study = optuna.create_study(direction="maximize")
    trial = study.enqueue_trial({"width": 16}) or study.ask()
    with pytest.raises(ConfigError, match="the space raised TrialPruned: not this one"):
        sample(trial, picky, FIDELITY, budget=1_000_000)
    study.enqueue_trial({"width": 8})
    assert sample(study.ask(), picky, FIDELITY, budget=1_000_000).epochs == 1


def test_the_budget_still_prunes():
    study = optuna.create_study(direction="maximize")
    trial = study.enqueue_trial({"width": 8}) or study.ask()
    with pytest.raises(optuna.TrialPruned, match="budget: 5,266 > 1,000 parameters"):
        sample(trial, picky, FIDELITY, budget=1_000)


def test_a_user_error_the_space_raises_is_that_trials_fault_not_the_searchs():
    """A space that reads a bad file of the person's for one config: the runner fails the trial
    on a ConfigError, but stopped the whole search on the UserError it was."""
    from errors import UserError

    def reads(trial: optuna.Trial) -> TrainConfig:
        trial.suggest_int("width", 8, 8)
        raise UserError("mine.yaml is not valid YAML")

    study = optuna.create_study(direction="maximize")
    with pytest.raises(ConfigError, match=r"the space raised UserError: mine\.yaml is not valid"):
        sample(study.ask(), reads, FIDELITY, budget=1_000_000)

"""Drafts: trials sampled in memory and written in one transaction, on every storage backend."""

import optuna
import pytest
import sqlalchemy
from optuna.trial import TrialState

from search.draft import Draft
from search.fidelity import Fidelity
from search.sampling import make_sampler, sample
from search.trial import BUDGET_CONSTRAINT, CONFIG, N_PARAMS, PRUNED_REASON, frozen
from spaces import get_space
from storage import open_storage
from trainers import TrainConfig, count_params

SPACE = get_space("resnet_budget")
FIDELITY = Fidelity(epochs=2, train_subset=1000, val_size=1000)


def new_study(url, pruner=None):
    storage = open_storage(url).backend
    study = optuna.create_study(
        storage=storage, direction="maximize", sampler=make_sampler(0), pruner=pruner
    )
    return study, storage


class Commits:
    """Counts the transactions that wrote to a storage's database (Optuna commits reads too)."""

    def __init__(self, storage):
        self.count, self.writing, self.reads = 0, False, 0
        sqlalchemy.event.listen(storage.engine, "before_cursor_execute", self.executed)
        sqlalchemy.event.listen(storage.engine, "commit", self.committed)

    def executed(self, connection, cursor, statement, *args):
        self.writing |= statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        self.reads += statement.lstrip().upper().startswith("SELECT")

    def committed(self, connection):
        self.count += self.writing
        self.writing = False


def rejected(study, budget=1):
    trial = Draft(study, study.get_trials(deepcopy=False))
    with pytest.raises(optuna.TrialPruned):
        sample(trial, SPACE, FIDELITY, budget)
    return trial.write(TrialState.PRUNED)


def test_a_rejected_draft_costs_one_transaction_and_keeps_what_the_sampler_learns_from(
    storage_url,
):
    study, storage = new_study(storage_url)
    commits = Commits(storage)
    record = rejected(study)
    assert commits.count == 1
    asked = study.ask()
    with pytest.raises(optuna.TrialPruned):
        sample(asked, SPACE, FIDELITY, 1)
    study.tell(asked, state=TrialState.PRUNED)
    assert commits.count > 10  # every parameter and attribute of an asked trial is a write
    stored = study.get_trials()[0]
    assert stored.number == record.number == 0 and stored.state == TrialState.PRUNED
    assert stored.params == record.params and len(stored.params) > 10
    assert stored.distributions == record.distributions
    n_params = stored.user_attrs[N_PARAMS]
    assert stored.constraints[BUDGET_CONSTRAINT] == n_params - 1
    assert stored.user_attrs[PRUNED_REASON] == f"budget: {n_params:,} > 1 parameters"
    assert count_params(TrainConfig.from_dict(stored.user_attrs[CONFIG]).model) == n_params
    assert stored.datetime_start <= stored.datetime_complete


def test_an_admitted_draft_is_running_in_one_transaction_and_trains_as_an_asked_trial(
    storage_url,
):
    study, storage = new_study(storage_url)
    draft = Draft(study, study.get_trials(deepcopy=False))
    config = sample(draft, SPACE, FIDELITY, 5_000_000)
    commits = Commits(storage)
    trial = draft.write(TrialState.RUNNING)
    assert commits.count == 1
    record = frozen(trial)
    assert record.state == TrialState.RUNNING and record.number == 0
    assert record.params == draft.params and record.user_attrs[CONFIG] == config.to_dict()
    trial.report(0.5, 1)
    study.tell(trial, 0.6)
    assert study.get_trials()[0].intermediate_values == {1: 0.5}
    assert study.best_value == 0.6


def test_drafts_are_numbered_in_turn_and_the_sampler_sees_the_trials_before_them(storage_url):
    study, _ = new_study(storage_url)
    numbers = [rejected(study).number for _ in range(12)]  # TPE's 10 startup trials, then more
    assert numbers == list(range(12))
    late = study.get_trials()[-1]
    assert any(key.startswith("tpe:relative_params") for key in late.system_attrs)


def test_a_draft_samples_in_its_hyperband_bracket(storage_url):
    pruner = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=9, reduction_factor=3)
    study, _ = new_study(storage_url, pruner)
    for _ in range(3):
        rejected(study)
    assert [t.state for t in study.get_trials()] == [TrialState.PRUNED] * 3


def test_a_draft_never_touches_the_storage_until_written(storage_url):
    study, storage = new_study(storage_url)
    commits = Commits(storage)
    draft = Draft(study, study.get_trials(deepcopy=False))
    sample(draft, SPACE, FIDELITY, 5_000_000)
    draft.set_user_attr("note", "kept in memory")
    assert commits.count == 0 and study.get_trials() == []
    assert draft.user_attrs["note"] == "kept in memory" and draft.constraints[BUDGET_CONSTRAINT] < 0


def test_a_draft_samples_from_the_trials_it_was_made_from_without_reading_again(storage_url):
    """TPE's constant liar asks for the running trials once per group of parameters; the
    draft answers from its snapshot, which holds another worker's running trial."""
    study, storage = new_study(storage_url)
    for _ in range(11):  # past TPE's 10 startup trials, so TPE models the study
        rejected(study)
    elsewhere = study.ask()  # another worker's trial, running
    trials = study.get_trials(deepcopy=False)
    commits = Commits(storage)
    draft = Draft(study, trials)
    sample(draft, SPACE, FIDELITY, 5_000_000)
    assert commits.reads == 0 and draft.number == len(trials) == 12
    running = draft.study._get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    assert [t.number for t in running] == [elsewhere.number]


def test_a_draft_refuses_a_parameter_the_study_samples_from_other_choices(storage_url):
    """As the storage refuses it for an asked trial: stored, it would break TPE's every later
    trial (it maps each stored value to an index of the current choices)."""
    study, _ = new_study(storage_url)
    study.ask().suggest_categorical("lr", [0.1, 0.05])
    for trial in (study.ask(), Draft(study, study.get_trials(deepcopy=False))):
        with pytest.raises(ValueError, match="does not support dynamic value space"):
            trial.suggest_categorical("lr", [0.001, 0.0003])
        assert trial.suggest_categorical("lr", [0.1, 0.05]) in (0.1, 0.05)  # the same: fine


class Heard(optuna.samplers.TPESampler):
    """The project's sampler, with `constraints_func` (deprecated in Optuna 5, still taken: it
    writes the trial's constraints in `after_trial`), noting what `after_trial` heard."""

    def __init__(self):
        super().__init__(seed=0, multivariate=True, constraints_func=lambda trial: [1.0])
        self.heard = []

    def after_trial(self, study, trial, state, values):
        self.heard.append((state, dict(trial.params)))
        super().after_trial(study, trial, state, values)


@pytest.mark.parametrize("state", [TrialState.PRUNED, TrialState.FAIL])
@pytest.mark.filterwarnings("ignore:.*constraints_func:FutureWarning")  # Optuna 5: deprecated
def test_a_finished_draft_is_told_to_the_sampler_as_study_tell_would(storage_url, state):
    """Before: `after_trial` got the draft before it was stored, so a sampler that writes there
    (constraints_func) failed every rejection with `KeyError: 'Record does not exist.'`."""
    sampler = Heard()
    study = optuna.create_study(storage=open_storage(storage_url).backend, sampler=sampler,
                                direction="maximize")  # fmt: skip
    draft = Draft(study, study.get_trials(deepcopy=False))
    x = draft.suggest_float("x", 0, 1)
    record = draft.write(state)
    assert sampler.heard == [(state, {"x": x})]
    if state == TrialState.PRUNED:  # Optuna asks constraints_func of COMPLETE and PRUNED only
        stored = study.trials[-1].system_attrs["constraints"]
        assert list(stored) == [1.0] == list(record.system_attrs["constraints"])
    running = Draft(study, study.get_trials(deepcopy=False))
    running.suggest_float("x", 0, 1)
    running.write(TrialState.RUNNING)  # not finished: nothing to tell
    assert len(sampler.heard) == 1


def test_a_model_of_exactly_the_budget_fits_and_one_parameter_more_does_not():
    config = TrainConfig()
    n = count_params(config.model)
    study = optuna.create_study(direction="maximize")
    sample(study.ask(), lambda trial: config, FIDELITY, budget=n)  # no TrialPruned
    with pytest.raises(optuna.TrialPruned, match=f"budget: {n:,} > {n - 1:,} parameters"):
        sample(study.ask(), lambda trial: config, FIDELITY, budget=n - 1)


@pytest.mark.filterwarnings("ignore:Choices for a categorical distribution:UserWarning")
def test_a_draft_refuses_what_its_storage_could_not_write_when_the_space_sets_it(tmp_path):
    """A database refuses a value JSON cannot write when it is set, in the space: that trial
    fails. A draft's, written later, crashed the run when its FAIL was written (a traceback)."""
    import numpy as np

    study, _ = new_study(f"sqlite:///{tmp_path}/s.db")
    draft = Draft(study, study.get_trials(deepcopy=False))
    with pytest.raises(TypeError, match="user attribute 'n': Object of type int64 is not JSON"):
        draft.set_user_attr("n", np.int64(3))
    with pytest.raises(TypeError, match="parameter 'w': Object of type int64 is not JSON"):
        draft.suggest_categorical("w", [np.int64(8), np.int64(16)])
    written = draft.write(TrialState.FAIL)
    assert written.state == TrialState.FAIL and written.user_attrs == written.params == {}
    assert study.get_trials()[0].state == TrialState.FAIL

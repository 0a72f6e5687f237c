"""A trial whose process died is queued again, at most MAX_RETRIES times a series."""

import optuna

from search.retry import retry
from storage import open_storage


def test_a_trial_that_fails_on_every_retry_is_retried_three_times_then_left(storage_url):
    study = optuna.create_study(storage=open_storage(storage_url).backend)
    queued = []
    trial = study.ask()
    for _ in range(5):
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        queued.append(retry(study, study.trials[trial.number]))
        if not queued[-1]:
            break
        trial = study.ask()  # the retry, with the original's parameters
        assert study.trials[trial.number].system_attrs["failed_trial"] == 0
    assert queued == [True, True, True, False]
    assert [t.state.name for t in study.trials] == ["FAIL"] * 4

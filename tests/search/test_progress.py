"""What a person watching a run reads, from the trials' records alone."""

import io

import optuna
from optuna.trial import TrialState
from rich.console import Console

from search.progress import TrialProgress
from search.trial import CONFIG, FAIL_REASON, IMAGES_PER_S, N_PARAMS, frozen


def lines(out):
    return [line for line in out.getvalue().splitlines() if line]


def started(study, epochs=3):
    trial = study.ask()
    trial.set_user_attr(N_PARAMS, 12_345)
    trial.set_user_attr(CONFIG, {"epochs": epochs})
    trial.set_user_attr(IMAGES_PER_S, 2000.0)
    return trial


def test_each_epoch_is_shown_once_and_a_trial_that_ended_catches_up():
    """The trial records one speed, its last epoch's: epochs caught up later show none."""
    out = io.StringIO()
    progress = TrialProgress(Console(file=out, width=200))
    study = optuna.create_study(direction="maximize")
    trial = started(study, epochs=4)
    progress.running([frozen(trial)])
    trial.report(0.31, 1)
    progress.running([frozen(trial)])
    progress.running([frozen(trial)])  # nothing new
    trial.report(0.42, 2)
    trial.report(0.47, 3)
    trial.set_user_attr(IMAGES_PER_S, 3000.0)  # epoch 3's: both epochs seen in one look
    progress.running([frozen(trial)])
    trial.report(0.5, 4)  # ended before anyone looked again
    study.tell(trial, 0.5)
    progress.ended(study.trials[-1])
    assert lines(out)[:5] == [
        "trial    0 training  12,345 params, 4 epochs",
        "trial    0 epoch 1  val acc 0.3100  2,000 img/s",
        "trial    0 epoch 2  val acc 0.4200  - img/s",
        "trial    0 epoch 3  val acc 0.4700  3,000 img/s",
        "trial    0 epoch 4  val acc 0.5000  - img/s",
    ]
    assert lines(out)[5].startswith("trial    0 COMPLETE  val acc 0.5000  12,345 params")
    assert len(lines(out)) == 6


def test_a_trial_that_did_not_complete_says_why():
    out = io.StringIO()
    progress = TrialProgress(Console(file=out, width=200))
    study = optuna.create_study(direction="maximize")
    trial = started(study)
    trial.set_user_attr(FAIL_REASON, "out of memory: CUDA out of memory")
    study.tell(trial, state=TrialState.FAIL)
    progress.ended(study.trials[-1])
    assert lines(out) == ["trial    0 FAIL  out of memory: CUDA out of memory"]

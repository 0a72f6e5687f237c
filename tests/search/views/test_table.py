"""`search status` on a real study: the trials table and, above it, what they came to in one
line (trained, pruned by the pruner, rejected for the budget, failed, running)."""

import io
from contextlib import redirect_stderr
from pathlib import Path

import optuna
from optuna.trial import TrialState

from search import RunOptions, run_search
from tests.search.standins import standin_train
from trainers import ModelConfig, count_params

FAULTY_SPACE = str(Path(__file__).parents[2] / "data" / "faulty_space.py")


def faulty_study(where, fake_cifar, trials):
    """The faulty space at a budget only its width-8 models fit: trial 1 fails in the space,
    width 16 and trial 2's huge model are rejected for the budget, the rest complete.
    Returns the study, its storage URL and the budget."""
    budget = count_params(ModelConfig(stem_width=8, depths=(1, 1), widths=(8, 16)))
    url = f"sqlite:///{where}/s.db"
    options = RunOptions(space=FAULTY_SPACE, study="faulty", trials=trials, budget=budget,
                         storage=url, epochs=2, data_dir=fake_cifar, seed=0)  # fmt: skip
    with redirect_stderr(io.StringIO()):
        run_search(options, standin_train)
    return optuna.load_study(study_name="faulty", storage=url), url, budget


def test_status_breaks_the_trials_down_in_one_line(cli, tmp_path, fake_cifar):
    study, url, _ = faulty_study(tmp_path, fake_cifar, trials=4)
    study.ask()  # a trial another driver is training now
    stopped = study.ask()  # one the pruner stopped, as the driver records it
    stopped.set_user_attr("pruned_reason", "pruner: stopped after epoch 1 (val acc 0.1000)")
    study.tell(stopped, state=TrialState.PRUNED)

    result = cli("status", "--study", "faulty", "--storage", url)
    assert result.code == 0, result.err
    states = [t.state for t in study.get_trials()]
    rejected = sum(t.constraints.get("budget", 0) > 0 for t in study.get_trials())
    complete, failed = states.count(TrialState.COMPLETE), states.count(TrialState.FAIL)
    assert complete == 4 and rejected > 0 and failed == 1
    said = (
        f"study 'faulty': {len(states)} trials: {complete + 1} trained ({complete} complete, 1 "
        f"pruned by the pruner), {rejected} rejected for the budget, 1 failed, 1 running"
    )
    assert result.out.splitlines()[0].split() == said.split()

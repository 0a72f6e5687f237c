"""The search: a study's driver loop and its executors, over spaces, trainers and storage.

The engine lives here (options, run, study, runner, sampling, training, pruning, the trial
record, heartbeat, executors); `search.cli` holds the commands, `search.views` what they show.
"""

from search.fidelity import Fidelity, default_fidelity
from search.options import DEFAULT_BUDGET, RunOptions
from search.run import run_search
from search.sampling import sample
from search.study import load_study
from search.training import Outcome, train_trial
from search.trial import BUDGET, is_budget_rejected, is_trained, trained_count

__all__ = [
    "BUDGET",
    "DEFAULT_BUDGET",
    "Fidelity",
    "Outcome",
    "RunOptions",
    "default_fidelity",
    "is_budget_rejected",
    "is_trained",
    "load_study",
    "run_search",
    "sample",
    "train_trial",
    "trained_count",
]

"""The search: CLI, studies, the driver loop and its executors, export."""

from search.fidelity import Fidelity, default_fidelity
from search.objective import (
    BUDGET,
    Outcome,
    is_budget_rejected,
    is_trained,
    sample,
    train_trial,
    trained_count,
)
from search.study import DEFAULT_BUDGET, RunOptions, load_study, run_search

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

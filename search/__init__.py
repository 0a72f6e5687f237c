"""The search: CLI, studies, the objective that joins spaces, trainers and storage."""

from search.fidelity import Fidelity, default_fidelity
from search.objective import BUDGET, Objective, is_budget_rejected, is_trained
from search.study import DEFAULT_BUDGET, Search, load_study, run_search

__all__ = [
    "BUDGET",
    "DEFAULT_BUDGET",
    "Fidelity",
    "Objective",
    "Search",
    "default_fidelity",
    "is_budget_rejected",
    "is_trained",
    "load_study",
    "run_search",
]

"""The search: a study's driver loop and its executors, over spaces, trainers and storage.

The engine lives here (options, run, study, runner, sampling, training, pruning, the trial
record, heartbeat, executors); `search.cli` holds the commands, `search.views` what they show.
The names below load from their modules on first use, so that a command imports only what it
runs (`search --help` imports neither torch nor Ray).
"""

import importlib
from typing import Any

__all__ = [
    "DEFAULT_BUDGET",
    "Fidelity",
    "RunOptions",
    "default_fidelity",
    "is_budget_rejected",
    "is_trained",
    "load_study",
    "run_search",
]

_MODULES = {  # name -> the module that defines it
    "Fidelity": "search.fidelity",
    "default_fidelity": "search.fidelity",
    "DEFAULT_BUDGET": "search.options",
    "RunOptions": "search.options",
    "run_search": "search.run",
    "load_study": "search.study",
    "is_budget_rejected": "search.trial",
    "is_trained": "search.trial",
}


def __getattr__(name: str) -> Any:
    """A name of `__all__`, imported from its module when first asked for (PEP 562)."""
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULES[name]), name)
    globals()[name] = value
    return value

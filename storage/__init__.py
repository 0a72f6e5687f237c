"""Study storage: storage URLs turned into Optuna storages (SQLite by default), and the proxy.

The names below load from their modules on first use: the URL defaults a command's --help shows
need neither SQLAlchemy nor Optuna.
"""

import importlib
from typing import Any

__all__ = [
    "DEFAULT_URL",
    "ENV_VAR",
    "Storage",
    "check_storage",
    "mask",
    "mask_argv",
    "open_storage",
    "resolve_url",
]

_MODULES = {  # name -> the module that defines it
    "Storage": "storage.study_storage",
    "check_storage": "storage.study_storage",
    "open_storage": "storage.study_storage",
    "DEFAULT_URL": "storage.url",
    "ENV_VAR": "storage.url",
    "mask": "storage.url",
    "mask_argv": "storage.url",
    "resolve_url": "storage.url",
}


def __getattr__(name: str) -> Any:
    """A name of `__all__`, imported from its module when first asked for (PEP 562)."""
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULES[name]), name)
    globals()[name] = value
    return value

"""Study storage: storage URLs turned into Optuna RDB storages (SQLite by default)."""

from storage.rdb import (
    DEFAULT_URL,
    ENV_VAR,
    RETRY,
    describe_storage,
    mask,
    open_storage,
    resolve_url,
)

__all__ = [
    "DEFAULT_URL",
    "ENV_VAR",
    "RETRY",
    "describe_storage",
    "mask",
    "open_storage",
    "resolve_url",
]

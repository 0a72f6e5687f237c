"""Study storage: storage URLs turned into Optuna storages (SQLite by default), and the proxy."""

from storage.study_storage import GRACE_BEATS, RETRY, Storage, open_storage, retry
from storage.url import DEFAULT_URL, ENV_VAR, mask, mask_argv, resolve_url

__all__ = [
    "DEFAULT_URL",
    "ENV_VAR",
    "GRACE_BEATS",
    "RETRY",
    "Storage",
    "mask",
    "mask_argv",
    "open_storage",
    "resolve_url",
    "retry",
]

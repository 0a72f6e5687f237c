"""Study storage: storage URLs turned into Optuna storages (SQLite by default), and the proxy."""

from storage.study_storage import RETRY, Storage, open_storage
from storage.url import DEFAULT_URL, ENV_VAR, mask, mask_argv, resolve_url

__all__ = [
    "DEFAULT_URL",
    "ENV_VAR",
    "RETRY",
    "Storage",
    "mask",
    "mask_argv",
    "open_storage",
    "resolve_url",
]

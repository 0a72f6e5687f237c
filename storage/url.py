"""Storage URLs: which one a command uses, what it names, and how to show it without secrets."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy
from sqlalchemy.engine import make_url

__all__ = ["DEFAULT_URL", "ENV_VAR", "mask", "mask_argv", "resolve_url", "sqlite_file"]

DEFAULT_URL = "sqlite:///search.db"
ENV_VAR = "SEARCH_STORAGE"


def resolve_url(url: str | None = None) -> str:
    """The --storage flag, else $SEARCH_STORAGE, else ./search.db."""
    return url or os.environ.get(ENV_VAR) or DEFAULT_URL


def mask(url: str) -> str:
    """The URL with its password replaced by ***, fit to print and log."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return url.split("@")[-1] if "@" in url else url


def mask_argv(argv: list[str]) -> list[str]:
    """A command line with the password of every URL in it replaced by ***."""
    masked = []
    for arg in argv:
        flag, sep, value = arg.rpartition("=") if arg.startswith("--") else ("", "", arg)
        masked.append(f"{flag}{sep}{mask(value)}" if "://" in value else arg)
    return masked


def sqlite_file(url: sqlalchemy.URL) -> Path | None:
    """The absolute path of the SQLite database file `url` names; None for other databases and
    for SQLite in memory."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).resolve()

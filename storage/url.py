"""Storage URLs: which one a command uses, what it names, and how to show it without secrets."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from errors import UserError

if TYPE_CHECKING:
    import sqlalchemy

__all__ = [
    "DEFAULT_URL",
    "ENV_VAR",
    "in_memory",
    "mask",
    "mask_argv",
    "resolve_url",
    "sqlite_file",
    "sqlite_uri",
]

DEFAULT_URL = "sqlite:///search.db"
ENV_VAR = "SEARCH_STORAGE"


def resolve_url(url: str | None = None) -> str:
    """The --storage flag, else $SEARCH_STORAGE (unless empty), else ./search.db."""
    if url is not None and not url.strip():
        raise UserError("--storage must not be empty; allowed: a SQLAlchemy URL")
    return url or os.environ.get(ENV_VAR) or DEFAULT_URL


def _secret(key: str) -> bool:
    """Whether a URL query parameter holds a secret (password=, sslpassword=, token=, ...)."""
    key = key.lower()
    return any(word in key for word in ("pass", "pwd", "secret", "token")) or key.endswith("key")


def mask(url: str) -> str:
    """The URL with every secret replaced by ***: the password of its user-info and the values
    of query parameters that carry one. Fit to print, log and store."""
    import sqlalchemy  # a quarter of a second: loaded by what opens or shows a storage

    try:
        parsed = sqlalchemy.engine.make_url(url)
    except (sqlalchemy.exc.ArgumentError, ValueError):  # not a URL (or its port no number):
        tail = url.split("@")[-1]  # keep what follows the user-info
        return re.sub(r"([?&][^=&]*=)[^&]*", _masked_pair, tail)
    if "@" in (parsed.host or ""):  # an unencoded @ in the password: all of the user-info goes
        scheme, _, rest = url.partition("://")
        return mask(f"{scheme}://{rest.rpartition('@')[2]}").replace("://", "://***@", 1)
    shown = parsed.set(query={}).render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and parsed.password is None:  # as given: a path
        shown = url.partition("?")[0]  # keeps its : and % as typed
    pairs = [
        f"{key}={'***' if _secret(key) else value}"
        for key, values in parsed.query.items()
        for value in ((values,) if isinstance(values, str) else values)
    ]
    return f"{shown}?{'&'.join(pairs)}" if pairs else shown


def _masked_pair(match: re.Match[str]) -> str:
    pair = match.group(0)
    return match.group(1) + "***" if _secret(match.group(1)[1:-1]) else pair


def mask_argv(argv: list[str]) -> list[str]:
    """A command line with the password of every URL in it replaced by ***."""
    masked = []
    for arg in argv:
        flag, sep, value = arg.partition("=") if arg.startswith("--") else ("", "", arg)
        masked.append(f"{flag}{sep}{mask(value)}" if "://" in value else arg)
    return masked


def in_memory(url: str) -> bool:
    """Whether `url` is SQLite in memory: a database that each connection has of its own."""
    import sqlalchemy

    try:
        parsed = sqlalchemy.engine.make_url(url)
    except (sqlalchemy.exc.ArgumentError, ValueError):
        return False  # not a URL: open_storage says so
    return parsed.get_backend_name() == "sqlite" and sqlite_file(parsed) is None


def sqlite_uri(url: sqlalchemy.URL) -> bool:
    """Whether `url` names its SQLite database by a SQLite URI, with `?uri=true`
    (`sqlite:///file:runs/search.db?uri=true&mode=ro`)."""
    import sqlalchemy

    uri = url.query.get("uri")
    return (
        url.get_backend_name() == "sqlite"
        and isinstance(uri, str)
        and sqlalchemy.util.asbool(uri)
        and (url.database or "").startswith("file:")
    )


def sqlite_file(url: sqlalchemy.URL) -> Path | None:
    """The absolute path of the SQLite database file `url` names (a path, or a SQLite URI's);
    None for other databases and for SQLite in memory."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    if not sqlite_uri(url):
        return Path(url.database).resolve()
    path = unquote(urlsplit(url.database).path)
    if path in ("", ":memory:") or url.query.get("mode") == "memory":
        return None
    return Path(path).resolve()

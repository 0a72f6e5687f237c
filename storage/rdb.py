"""Turning a storage URL into an Optuna RDB storage: resolution, SQLite settings, masking.

Any SQLAlchemy URL Optuna accepts works. The default is a SQLite file in the working directory,
opened in WAL mode with a long busy timeout, so that a dashboard can read it while a run writes.
"""

from __future__ import annotations

import os
import sqlite3
import time
import warnings
from pathlib import Path

import optuna
import sqlalchemy
from sqlalchemy.engine import make_url

from trainers import UserError

__all__ = [
    "DEFAULT_URL",
    "ENV_VAR",
    "RETRY",
    "describe_storage",
    "mask",
    "open_storage",
    "resolve_url",
]

DEFAULT_URL = "sqlite:///search.db"
ENV_VAR = "SEARCH_STORAGE"
SQLITE_TIMEOUT_S = 60  # how long a SQLite writer waits for the lock before giving up
PROXY_TIMEOUT_S = 30  # how long a worker waits for the driver's gRPC storage proxy
TABLE_RACE_TRIES = 5  # attempts to open a new database other processes are setting up too
GRACE_BEATS = 3  # missed heartbeats after which a running trial is failed and retried
MAX_RETRIES = 3  # times a trial whose process died is queued again
with warnings.catch_warnings():
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
    RETRY = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES)


def resolve_url(url: str | None = None) -> str:
    """The --storage flag, else $SEARCH_STORAGE, else ./search.db."""
    return url or os.environ.get(ENV_VAR) or DEFAULT_URL


def mask(url: str) -> str:
    """The URL with its password replaced by ***, fit to print and log."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return url.split("@")[-1] if "@" in url else url


def describe_storage(url: str) -> str:
    """The masked URL, and for a SQLite file its absolute path: where the study lives."""
    try:
        parsed = make_url(url)
    except sqlalchemy.exc.ArgumentError:
        return mask(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return f"{mask(url)} ({Path(parsed.database).resolve()})"
    return mask(url)


def _prepare_sqlite(url: sqlalchemy.URL, must_exist: bool) -> None:
    """Check the file can be opened and switch it to WAL (a setting the file keeps)."""
    if not url.database or url.database == ":memory:":
        return
    path = Path(url.database)
    if must_exist and not path.is_file():
        raise UserError(
            f"storage {url}: no such file; allowed: the storage `search run` wrote "
            f"(--storage, ${ENV_VAR}, or ./search.db in the directory it ran in)"
        )
    if not path.parent.is_dir():
        raise UserError(f"storage {url}: directory {path.parent} does not exist")
    try:
        with sqlite3.connect(path, timeout=SQLITE_TIMEOUT_S) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error as err:
        raise UserError(
            f"storage {url}: cannot open or create the SQLite file ({err}); allowed: a file "
            "in a writable directory"
        ) from None


def open_storage(
    url: str | None = None, must_exist: bool = False, heartbeat_s: int | None = None
) -> optuna.storages.BaseStorage:
    """An Optuna storage on `url` (resolved as by `resolve_url`); bad or unreachable URLs fail
    with one line naming them, before anything is written. With `must_exist`, a SQLite file
    that is not there yet fails too, instead of being created.

    With `heartbeat_s`, running trials are expected to beat that often (`search.heartbeat`);
    one silent for `GRACE_BEATS` beats is failed by `optuna.storages.fail_stale_trials` and
    queued again (`RETRY`), to resume from its checkpoint.
    """
    url = resolve_url(url)
    if url.startswith("grpc://"):
        return _open_proxy(url)
    try:
        parsed = make_url(url)
    except sqlalchemy.exc.ArgumentError:
        raise UserError(
            f"storage {mask(url)!r} is not a database URL; allowed: sqlite:///FILE, "
            "postgresql://USER@HOST/DB, or any SQLAlchemy URL"
        ) from None
    engine_kwargs: dict = {"pool_pre_ping": True}
    if parsed.get_backend_name() == "sqlite":
        _prepare_sqlite(parsed, must_exist)
        engine_kwargs["connect_args"] = {"timeout": SQLITE_TIMEOUT_S}
    beats: dict = {}
    if heartbeat_s is not None:
        beats = {
            "heartbeat_interval": heartbeat_s,
            "grace_period": GRACE_BEATS * heartbeat_s,
            "heartbeat_stale_trial_callback": RETRY,
        }
    try:
        storage = _rdb_storage(url, engine_kwargs, beats)
    except (sqlalchemy.exc.SQLAlchemyError, ImportError) as err:  # nothing was written
        raise UserError(f"storage {mask(url)} is unreachable: {_reason(err)}") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        sqlalchemy.event.listen(storage.engine, "connect", _sqlite_connection)
        storage.engine.dispose()  # connections opened from now on get the setting
    return storage


def _rdb_storage(url: str, engine_kwargs: dict, beats: dict) -> optuna.storages.RDBStorage:
    """Optuna's RDB storage, which creates its tables in a new database. Workers started at once
    race to create them; a loser finds them made (a duplicate-object error) and tries again."""
    for attempt in range(1, TABLE_RACE_TRIES + 1):
        try:
            with warnings.catch_warnings():  # heartbeats: experimental since Optuna 2.9
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs, **beats)
        except sqlalchemy.exc.DatabaseError as err:
            # PostgreSQL: IntegrityError / ProgrammingError; SQLite: "table ... already exists"
            race = not isinstance(err, sqlalchemy.exc.OperationalError) or (
                "already exists" in str(err)
            )
            if not race or attempt == TABLE_RACE_TRIES:
                raise
            time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")


def _sqlite_connection(connection: sqlite3.Connection, record: object) -> None:
    """WAL with synchronous=NORMAL: a commit no longer waits for the disk (half the latency
    of each trial's writes); a crash of the program loses nothing, a power cut at most the last
    commits, and the file stays consistent either way (SQLite's WAL documentation)."""
    connection.execute("PRAGMA synchronous=NORMAL")


def _open_proxy(url: str) -> optuna.storages.BaseStorage:
    """A client of the gRPC storage proxy at grpc://HOST:PORT (see storage.proxy)."""
    host, _, port = url.removeprefix("grpc://").rpartition(":")
    if not host or not port.isdigit():
        raise UserError(f"storage {url!r} is not a proxy address; allowed: grpc://HOST:PORT")
    with warnings.catch_warnings():  # experimental since Optuna 4.2
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        proxy = optuna.storages.GrpcStorageProxy(host=host, port=int(port))
    try:
        proxy.wait_server_ready(timeout=PROXY_TIMEOUT_S)
    except ConnectionError:
        raise UserError(f"storage {url} is unreachable: no proxy answers there") from None
    return proxy


def _reason(err: BaseException) -> str:
    """The first line of a driver's error, without SQLAlchemy's boilerplate."""
    if isinstance(err, ImportError):
        return f"its database driver is not installed ({err.name or err})"
    original = getattr(err, "orig", None) or err
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    return lines[0] if lines else type(original).__name__

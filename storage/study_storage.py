"""Opening a study storage: the URL turned into an Optuna storage, and what the URL says of it.

Any SQLAlchemy URL Optuna accepts works, and grpc://HOST:PORT reaches a driver's storage proxy
(storage.proxy). The default is a SQLite file in the working directory, opened in WAL mode with
a long busy timeout, so that a dashboard can read it while a run writes.
"""

from __future__ import annotations

import sqlite3
import time
import warnings
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import optuna
import sqlalchemy
from sqlalchemy.engine import make_url

from errors import UserError
from storage.url import ENV_VAR, mask, resolve_url, sqlite_file, sqlite_uri

__all__ = [
    "Storage",
    "check_storage",
    "open_storage",
]

SQLITE_TIMEOUT_S = 60  # how long a SQLite writer waits for the lock before giving up
PROXY_TIMEOUT_S = 30  # how long a worker waits for the driver's gRPC storage proxy
TABLE_RACE_TRIES = 5  # attempts to open a new database other processes are setting up too


@dataclass(frozen=True)
class Storage:
    """An opened study storage, and what its URL says about where studies live."""

    url: str  # as resolved: the --storage flag, else $SEARCH_STORAGE, else the default
    backend: optuna.storages.BaseStorage  # what optuna.create_study / load_study take
    sqlite: bool = False  # a SQLite database (a file, or in memory)
    file: Path | None = None  # the SQLite file, absolute; None for other databases

    @property
    def masked(self) -> str:
        """The URL with its password replaced by ***."""
        return mask(self.url)

    @property
    def description(self) -> str:
        """Where the studies live: the masked URL, and a SQLite file's absolute path."""
        return f"{self.masked} ({self.file})" if self.file else self.masked

    @property
    def needs_proxy(self) -> bool:
        """Whether workers in other processes must write through one process (SQLite has a
        single writer; an in-memory database is seen by this process alone)."""
        return self.sqlite

    @property
    def checkpoint_root(self) -> Path:
        """Where trial checkpoints go by default: beside a SQLite file (search.db ->
        search-checkpoints/), else ./checkpoints."""
        if self.file is not None:
            return self.file.with_name(f"{self.file.stem}-checkpoints")
        return Path("checkpoints").resolve()


WRITTEN_BY_RUN = (
    f"the storage `search run` wrote (--storage, ${ENV_VAR}, or ./search.db in the directory "
    "it ran in)"
)


def _check_sqlite_file(url: sqlalchemy.URL, shown: str, must_exist: bool) -> None:
    path = sqlite_file(url)
    if path is None:  # in memory
        return
    if must_exist and not path.is_file():
        raise UserError(f"storage {shown}: no such file; allowed: {WRITTEN_BY_RUN}")
    if not must_exist and sqlite_uri(url) and (said := _read_only(url)):  # `search run` writes
        raise UserError(f"storage {shown}: {said} opens it read-only, and `search run` writes to "
                        f"it; allowed: the URL without {said}")  # fmt: skip
    if not path.parent.is_dir():
        raise UserError(f"storage {shown}: directory {path.parent} does not exist; allowed: a "
                        "file in an existing directory")  # fmt: skip


def _read_only(url: sqlalchemy.URL) -> str | None:
    """What of a SQLite URI's query opens the file read-only (mode=ro, immutable=1), if any."""
    mode, immutable = url.query.get("mode"), url.query.get("immutable")
    if mode == "ro":
        return "mode=ro"
    if isinstance(immutable, str) and immutable.lower() in ("1", "yes", "true", "on"):
        return f"immutable={immutable}"  # SQLite's booleans
    return None


def _holds_studies(url: str, engine_kwargs: dict) -> bool:
    """Whether the database has Optuna's tables, read without writing anything; UserError where
    it cannot be reached."""
    try:
        engine = sqlalchemy.create_engine(url, **engine_kwargs)  # imports the URL's driver
        try:
            with engine.connect() as connection:
                return sqlalchemy.inspect(connection).has_table("studies")
        finally:
            engine.dispose()
    except (sqlalchemy.exc.SQLAlchemyError, ImportError) as err:
        raise UserError(f"storage {mask(url)} is unreachable: {_reason(err)}") from None


def _set_wal(url: sqlalchemy.URL, shown: str) -> None:
    """Switch a SQLite file to WAL (a setting the file keeps), creating it if need be; opened
    as SQLAlchemy will open it (a SQLite URI's mode and checks included)."""
    if sqlite_file(url) is None:
        return
    try:
        args, kwargs = url.get_dialect()().create_connect_args(url)
    except (sqlalchemy.exc.ArgumentError, ValueError, TypeError) as err:  # a host, a user, ...
        raise UserError(f"storage {shown} is unreachable: {_reason(err)}") from None
    deadline = time.monotonic() + SQLITE_TIMEOUT_S
    while True:
        try:
            with closing(sqlite3.connect(*args, **{**kwargs, "timeout": SQLITE_TIMEOUT_S})) as db:
                db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.Error as err:  # the switch needs the file to itself, and SQLite refuses
            busy = getattr(err, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY  # at once while
            if not busy or time.monotonic() > deadline:
                raise UserError(
                    f"storage {shown}: cannot open or create the SQLite file ({err}); allowed: "
                    "a file in a writable directory"
                ) from None
        time.sleep(0.05)  # another writes: try again, as a busy timeout would


def check_storage(url: str | None = None) -> None:
    """UserError where `open_storage(url)` would refuse the URL or not reach its database, said
    without writing anything: for a run that starts Ray first (seconds), so a typo is said first.
    """
    url = resolve_url(url)
    if url.startswith("grpc://"):
        _open_proxy(url)
        return
    parsed = _parse(url)
    engine_kwargs = _engine_kwargs(parsed, mask(url), must_exist=False)
    if parsed.get_backend_name() != "sqlite":  # a SQLite file is made by the run
        _holds_studies(url, engine_kwargs)


def open_storage(
    url: str | None = None, must_exist: bool = False, heartbeat_s: int | None = None
) -> Storage:
    """The storage at `url` (resolved as by `resolve_url`); bad or unreachable URLs fail with
    one line naming them, before anything is written. With `must_exist`, a SQLite file that is
    not there yet fails too, instead of being created.

    With `heartbeat_s`, running trials are expected to beat that often (`search.heartbeat`
    fails and queues again the ones that stop).
    """
    url = resolve_url(url)
    if url.startswith("grpc://"):
        return Storage(url, _open_proxy(url))
    parsed = _parse(url)
    sqlite, file = parsed.get_backend_name() == "sqlite", sqlite_file(parsed)
    engine_kwargs = _engine_kwargs(parsed, mask(url), must_exist)
    if must_exist and not _holds_studies(url, engine_kwargs):
        raise UserError(f"storage {mask(url)} holds no studies (no Optuna tables); allowed: "
                        f"{WRITTEN_BY_RUN}")  # fmt: skip
    if not must_exist and sqlite:  # a writer's: a reader writes nothing, and may read a
        _set_wal(parsed, mask(url))  # read-only file
    beats: dict = {}
    if heartbeat_s is not None and not (sqlite and file is None):  # in memory: this process only
        beats = {"heartbeat_interval": heartbeat_s}  # stale trials: search.heartbeat.fail_dead
    try:
        backend = _rdb_storage(url, engine_kwargs, beats)
    except (sqlalchemy.exc.SQLAlchemyError, ImportError) as err:  # nothing was written
        raise UserError(f"storage {mask(url)} is unreachable: {_reason(err)}") from None
    if file is not None:
        sqlalchemy.event.listen(backend.engine, "connect", _sqlite_connection)
        if not must_exist:  # a writer's transactions are atomic (a reader's only read)
            sqlalchemy.event.listen(backend.engine, "connect", _sqlite_transactions_here)
            sqlalchemy.event.listen(backend.engine, "begin", _begin_immediate)
        backend.engine.dispose()  # connections opened from now on get the setting
    return Storage(url, backend, sqlite, file)


def _parse(url: str) -> sqlalchemy.URL:
    """`url` parsed; UserError where SQLAlchemy cannot take it."""
    try:
        parsed = make_url(url)
        parsed.get_dialect()  # a scheme SQLAlchemy does not know (foo://) is said here
    except sqlalchemy.exc.NoSuchModuleError:
        raise UserError(
            f"storage {mask(url)}: SQLAlchemy knows no database {parsed.drivername!r}; allowed: "
            "sqlite:///FILE, postgresql://USER@HOST/DB, or any SQLAlchemy URL"
        ) from None
    except (sqlalchemy.exc.ArgumentError, ValueError):  # ValueError: a port that is no number
        raise UserError(
            f"storage {mask(url)!r} is not a database URL; allowed: sqlite:///FILE, "
            "postgresql://USER@HOST/DB, or any SQLAlchemy URL"
        ) from None
    if "@" in (parsed.host or ""):  # SQLAlchemy split the user-info at its first @: the rest of
        raise UserError(  # the password would be taken for the host, and the driver says it
            f"storage {mask(url)}: its user-info holds an @ that is not encoded; allowed: the "
            "password with each @ written as %40"
        )
    return parsed


def _engine_kwargs(parsed: sqlalchemy.URL, shown: str, must_exist: bool) -> dict:
    """How the engine connects; a SQLite file's path checked (there, with `must_exist`)."""
    engine_kwargs: dict = {"pool_pre_ping": True}
    if parsed.get_backend_name() == "sqlite":
        _check_sqlite_file(parsed, shown, must_exist)
        engine_kwargs["connect_args"] = {"timeout": SQLITE_TIMEOUT_S}
        if sqlite_file(parsed) is None:  # each connection of a pool would be a database of
            engine_kwargs["poolclass"] = sqlalchemy.pool.SingletonThreadPool  # its own
    return engine_kwargs


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


def _sqlite_transactions_here(connection: sqlite3.Connection, record: object) -> None:
    """Python's sqlite3 begins a transaction only at the first write, so the reads of a
    read-then-write (Optuna's: is the trial still WAITING, then set it RUNNING; is it still
    RUNNING, then set it FAIL) ran outside it, and two processes could both act on what they
    read: both took one queued trial. Transactions begin where SQLAlchemy begins them."""
    connection.isolation_level = None  # no implicit BEGIN: `_begin_immediate` says it


def _begin_immediate(connection: sqlalchemy.Connection) -> None:
    """Every transaction takes the write lock at once, waiting the busy timeout for it: one
    that only read first and then wrote would be refused at once ("database is locked"), without
    waiting, whenever another process had written since its read (SQLite's WAL mode)."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


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
    if isinstance(err, ImportError):  # Optuna's own says which module only in its cause
        missing = err.name or getattr(err.__cause__, "name", None) or err
        return f"its database driver is not installed ({missing})"
    original = getattr(err, "orig", None) or err
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    return lines[0] if lines else type(original).__name__

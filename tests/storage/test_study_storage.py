import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager

import optuna
import psycopg
import pytest
import sqlalchemy
from optuna.trial import TrialState

from errors import UserError
from storage import check_storage, open_storage
from storage.url import sqlite_file


def test_a_study_round_trips_on_every_backend(storage_url):
    storage = open_storage(storage_url)
    study = optuna.create_study(study_name="s", storage=storage.backend, direction="maximize")
    trial = study.ask()
    trial.set_user_attr("config", {"model": {"depths": [1, 2]}})
    study.tell(trial, 0.5)
    again = optuna.load_study(study_name="s", storage=open_storage(storage_url).backend)
    assert again.best_value == 0.5
    assert again.trials[0].user_attrs["config"] == {"model": {"depths": [1, 2]}}


def test_a_sqlite_file_is_named_and_has_its_checkpoints_beside_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    storage = open_storage("sqlite:///search.db")
    db = tmp_path / "search.db"
    assert storage.url == "sqlite:///search.db"
    assert storage.sqlite and storage.needs_proxy and storage.file == db
    assert storage.description == f"sqlite:///search.db ({db})"
    assert storage.checkpoint_root == tmp_path / "search-checkpoints"


def test_a_server_database_needs_no_proxy_and_checkpoints_here(postgres_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    storage = open_storage(postgres_url)
    assert not storage.sqlite and not storage.needs_proxy and storage.file is None
    assert storage.description == storage.masked == postgres_url
    assert storage.checkpoint_root == tmp_path / "checkpoints"


def test_sqlite_in_memory_has_no_file_but_one_writer():
    storage = open_storage("sqlite://")
    assert storage.sqlite and storage.needs_proxy and storage.file is None
    assert storage.description == "sqlite://"


def test_an_absolute_sqlite_file_keeps_its_checkpoints_beside_it(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path}/runs.db")
    assert storage.file == tmp_path / "runs.db"
    assert storage.checkpoint_root == tmp_path / "runs-checkpoints"


def test_a_password_is_masked_in_what_the_storage_shows(postgres_url):
    url = postgres_url.replace("postgres@", "postgres:s3cret@")  # trust auth accepts it
    storage = open_storage(url)
    assert "s3cret" not in storage.masked + storage.description
    assert "postgres:***@" in storage.description


def test_sqlite_files_are_in_wal_mode_with_normal_sync(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path / 'a.db'}")
    mode = sqlite3.connect(tmp_path / "a.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    with storage.backend.engine.connect() as connection:
        synchronous = connection.exec_driver_sql("PRAGMA synchronous").scalar()
    assert synchronous == 1  # NORMAL


def test_a_sqlite_file_being_written_is_made_wal_once_the_writer_is_done(tmp_path):
    """SQLite refuses the switch to WAL at once, without its busy timeout, while another
    process writes the file (or switches it too): two workers opening one file at once met it
    (`database is locked`). The opener waits for the writer instead."""
    path = tmp_path / "runs.db"
    optuna.create_study(study_name="s", storage=f"sqlite:///{path}")  # Optuna's: not WAL
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")  # holds the file's reserved lock, as a writer does
    done = threading.Timer(0.5, writer.execute, ("COMMIT",))
    done.start()
    start = time.monotonic()
    storage = open_storage(f"sqlite:///{path}")
    assert time.monotonic() - start >= 0.4  # it waited for the writer
    done.join()
    writer.close()
    assert storage.backend.get_all_studies()[0].study_name == "s"
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://bob:s3cret@127.0.0.1:1/x", "unreachable: connection failed"),
        ("sqlite:////nonexistent/dir/x.db", "directory /nonexistent/dir does not exist"),
        ("nonsense", "is not a database URL; allowed: sqlite:///FILE"),
        ("foo://bob:s3cret@host/x", "SQLAlchemy knows no database 'foo'; allowed: sqlite:///"),
        ("postgresql://bob:s3cret@host:notaport/x", "is not a database URL; allowed: sqlite"),
        ("grpc://nohost", "is not a proxy address; allowed: grpc://HOST:PORT"),
    ],
)
def test_bad_urls_fail_in_one_line_without_the_password(url, message):
    for opened in (open_storage, check_storage):  # check_storage: the same, writing nothing
        with pytest.raises(UserError, match=message) as err:
            opened(url)
        assert "s3cret" not in str(err.value) and "\n" not in str(err.value)


def test_checking_a_storage_writes_nothing(storage_url):
    """What `search run` says before Ray starts: a reachable database is left as it was."""
    check_storage(storage_url)
    if file := sqlite_file(sqlalchemy.make_url(storage_url)):
        assert not file.exists()  # the run makes it
        return
    engine = sqlalchemy.create_engine(storage_url)
    with engine.connect() as connection:
        assert "studies" not in sqlalchemy.inspect(connection).get_table_names()
    engine.dispose()


def test_a_reader_does_not_create_a_missing_sqlite_file(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        open_storage(f"sqlite:///{tmp_path / 'missing.db'}", must_exist=True)
    assert not (tmp_path / "missing.db").exists()


def test_a_read_only_open_writes_nothing_to_a_database_without_studies(storage_url):
    """Status, export, report and the dashboard pointed at another application's database:
    refused, and the database left as it was (no Optuna tables, a SQLite file not made WAL)."""
    engine = sqlalchemy.create_engine(storage_url)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text("CREATE TABLE other (x INTEGER)"))
    with pytest.raises(UserError, match="holds no studies \\(no Optuna tables\\); allowed: the"):
        open_storage(storage_url, must_exist=True)
    with engine.connect() as connection:
        assert sqlalchemy.inspect(connection).get_table_names() == ["other"]
        if storage_url.startswith("sqlite"):
            mode = connection.execute(sqlalchemy.text("PRAGMA journal_mode")).scalar()
            assert mode == "delete"
    engine.dispose()
    open_storage(storage_url)  # `search run` makes it a storage, as it did before
    assert open_storage(storage_url, must_exist=True).backend.get_all_studies() == []


def test_a_sqlite_uri_is_its_file_read_only_for_readers(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    storage = open_storage("sqlite:///file:runs.db?uri=true")
    assert storage.file == tmp_path / "runs.db" and storage.needs_proxy
    assert storage.checkpoint_root == tmp_path / "runs-checkpoints"
    optuna.create_study(study_name="s", storage=storage.backend)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("runs.db-")) == [
        "runs.db"
    ]  # nothing named file:runs.db
    read_only = "sqlite:///file:runs.db?uri=true&mode=ro"
    storage.backend.engine.dispose()
    with sqlite3.connect(tmp_path / "runs.db") as db:  # not WAL: a reader must leave it so
        db.execute("PRAGMA journal_mode=DELETE")
    before = (tmp_path / "runs.db").read_bytes()
    assert optuna.get_all_study_names(open_storage(read_only, must_exist=True).backend) == ["s"]
    assert (tmp_path / "runs.db").read_bytes() == before
    for opened, said in ((read_only, "mode=ro"), ("sqlite:///file:runs.db?uri=1&immutable=1",
                                                   "immutable=1")):  # fmt: skip
        with pytest.raises(UserError, match=f"{said} opens it read-only, and `search run` writes"):
            open_storage(opened)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite:///file:b.db?uri=true&mode=bogus", "no such access mode: bogus"),
        ("sqlite:///file://elsewhere/b.db?uri=true", "invalid uri authority: elsewhere"),
        ("sqlite://somehost/b.db", "is unreachable: Invalid SQLite URL"),  # SQLAlchemy's words
    ],
)
def test_a_sqlite_uri_that_sqlite_refuses_writes_nothing(url, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match=f"storage {re.escape(url)}[: ].*{message}"):
        open_storage(url)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///file::memory:?uri=true"])
def test_sqlite_in_memory_is_one_database_for_the_process(url):
    storage = open_storage(url)
    optuna.create_study(study_name="s", storage=storage.backend).optimize(lambda t: 1.0, 3)
    assert len(optuna.load_study(study_name="s", storage=storage.backend).trials) == 3


@contextmanager
def _writing(url: str, trial_id: int) -> Iterator[None]:
    """Another process in the middle of a write of the trial (SQLite: the file's write lock;
    PostgreSQL: its row) for the block."""
    if file := sqlite_file(sqlalchemy.make_url(url)):
        with closing(sqlite3.connect(file, isolation_level=None)) as db:
            db.execute("BEGIN IMMEDIATE")
            yield
            db.execute("COMMIT")
        return
    with psycopg.connect(url) as db:
        db.execute("SELECT 1 FROM trials WHERE trial_id = %s FOR UPDATE", (trial_id,))
        yield


def test_two_drivers_claiming_one_queued_trial_at_once_get_it_once(storage_url):
    """A driver takes a queued trial by setting it RUNNING if it is still WAITING: Optuna reads
    the state, then writes. On SQLite the read ran outside the write's transaction, so two
    drivers that read it while another process wrote both took it, and both trained it."""
    study = optuna.create_study(study_name="s", storage=open_storage(storage_url).backend)
    study.enqueue_trial({"x": 1.0})
    waiting = study.trials[0]._trial_id
    drivers = [open_storage(storage_url).backend for _ in range(2)]
    with ThreadPoolExecutor(2) as pool, _writing(storage_url, waiting):
        claims = [pool.submit(claim.set_trial_state_values, waiting, TrialState.RUNNING)
                  for claim in drivers]  # fmt: skip
        time.sleep(0.5)  # both have read it WAITING (or wait to), and wait for the writer
    assert sorted(claim.result() for claim in claims) == [False, True]

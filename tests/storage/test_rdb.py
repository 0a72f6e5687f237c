import optuna
import pytest

from storage import DEFAULT_URL, mask, open_storage, resolve_url
from trainers import UserError


def test_a_study_round_trips_on_every_backend(storage_url):
    storage = open_storage(storage_url)
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    trial = study.ask()
    trial.set_user_attr("config", {"model": {"depths": [1, 2]}})
    study.tell(trial, 0.5)
    again = optuna.load_study(study_name="s", storage=open_storage(storage_url))
    assert again.best_value == 0.5
    assert again.trials[0].user_attrs["config"] == {"model": {"depths": [1, 2]}}


def test_sqlite_files_are_in_wal_mode_with_normal_sync(tmp_path):
    import sqlite3

    storage = open_storage(f"sqlite:///{tmp_path / 'a.db'}")
    mode = sqlite3.connect(tmp_path / "a.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    with storage.engine.connect() as connection:
        synchronous = connection.exec_driver_sql("PRAGMA synchronous").scalar()
    assert synchronous == 1  # NORMAL


def test_the_flag_beats_the_environment_which_beats_the_default(monkeypatch):
    monkeypatch.delenv("SEARCH_STORAGE", raising=False)
    assert resolve_url(None) == DEFAULT_URL == "sqlite:///search.db"
    monkeypatch.setenv("SEARCH_STORAGE", "sqlite:///env.db")
    assert resolve_url(None) == "sqlite:///env.db"
    assert resolve_url("sqlite:///flag.db") == "sqlite:///flag.db"


def test_passwords_are_masked():
    assert mask("postgresql://bob:s3cret@db:5432/x") == "postgresql://bob:***@db:5432/x"
    assert "s3cret" not in mask("not a url bob:s3cret@db")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://bob:s3cret@127.0.0.1:1/x", "unreachable: connection failed"),
        ("sqlite:////nonexistent/dir/x.db", "directory /nonexistent/dir does not exist"),
        ("nonsense", "is not a database URL; allowed: sqlite:///FILE"),
    ],
)
def test_bad_urls_fail_in_one_line_without_the_password(url, message):
    with pytest.raises(UserError, match=message) as err:
        open_storage(url)
    assert "s3cret" not in str(err.value) and "\n" not in str(err.value)


def test_a_reader_does_not_create_a_missing_sqlite_file(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        open_storage(f"sqlite:///{tmp_path / 'missing.db'}", must_exist=True)
    assert not (tmp_path / "missing.db").exists()

from sqlalchemy.engine import make_url

from storage import DEFAULT_URL, mask, mask_argv, resolve_url
from storage.url import in_memory, sqlite_file


def test_the_flag_beats_the_environment_which_beats_the_default(monkeypatch):
    monkeypatch.delenv("SEARCH_STORAGE", raising=False)
    assert resolve_url(None) == DEFAULT_URL == "sqlite:///search.db"
    monkeypatch.setenv("SEARCH_STORAGE", "sqlite:///env.db")
    assert resolve_url(None) == "sqlite:///env.db"
    assert resolve_url("sqlite:///flag.db") == "sqlite:///flag.db"


def test_passwords_are_masked():
    assert mask("postgresql://bob:s3cret@db:5432/x") == "postgresql://bob:***@db:5432/x"
    assert "s3cret" not in mask("not a url bob:s3cret@db")
    unencoded = "postgresql://bob:s3c@ret@db:5432/x"  # SQLAlchemy takes "ret@db" for the host
    assert mask(unencoded) == "postgresql://***@db:5432/x"


def test_a_command_line_is_masked_wherever_a_url_stands():
    argv = ["run", "--storage", "postgresql://bob:s3cret@db/x", "--storage=mysql://a:pw@h/d",
            "--study", "s"]  # fmt: skip
    assert mask_argv(argv) == ["run", "--storage", "postgresql://bob:***@db/x",
                               "--storage=mysql://a:***@h/d", "--study", "s"]  # fmt: skip


def test_only_a_sqlite_database_on_disk_is_a_file(tmp_path):
    assert sqlite_file(make_url(f"sqlite:///{tmp_path}/a.db")) == tmp_path / "a.db"
    assert sqlite_file(make_url("sqlite://")) is None
    assert sqlite_file(make_url("sqlite:///:memory:")) is None
    assert sqlite_file(make_url("postgresql://u@h/db")) is None


def test_a_sqlite_uri_names_its_file(tmp_path, monkeypatch):
    """`?uri=true` makes the database a SQLite URI (file:PATH?mode=...), as SQLite reads it."""
    monkeypatch.chdir(tmp_path)
    assert sqlite_file(make_url(f"sqlite:///file:{tmp_path}/a.db?uri=true")) == tmp_path / "a.db"
    assert sqlite_file(make_url("sqlite:///file:a.db?uri=true&mode=ro")) == tmp_path / "a.db"
    assert (
        sqlite_file(make_url(f"sqlite:///file://{tmp_path}/a%20b.db?uri=1")) == tmp_path / "a b.db"
    )
    assert sqlite_file(make_url("sqlite:///file:a.db?mode=ro")) == tmp_path / "file:a.db"  # no uri
    assert sqlite_file(make_url("sqlite:///file::memory:?uri=true")) is None
    assert sqlite_file(make_url("sqlite:///file:m?uri=true&mode=memory&cache=shared")) is None
    assert in_memory("sqlite:///file:m?uri=true&mode=memory") and not in_memory("sqlite:///a.db")
    for given in ("sqlite:///file:a.db?uri=true&mode=ro", "sqlite:///a%3Fb.db", "sqlite://h/x.db"):
        assert mask(given) == given  # as typed: no password to hide
    assert mask("sqlite+pysqlcipher://:s3cret@/x.db?cipher=aes") == (
        "sqlite+pysqlcipher://:***@/x.db?cipher=aes"
    )


def test_query_parameters_that_hold_a_key_are_masked():
    assert mask("postgresql://u@h/db?sslmode=require&api_key=abc") == (
        "postgresql://u@h/db?sslmode=require&api_key=***"
    )
    assert "abc" not in mask("postgresql://u@h/db?accessKey=abc")


def test_an_unparsable_url_still_hides_its_secret_query_parameters():
    masked = mask("postgresql://u@h:notaport/db?password=s3cret&sslmode=require")
    assert masked == "h:notaport/db?password=***&sslmode=require"
    assert "t0k" not in mask("postgresql://u:pw@h:port/db?token=t0k")

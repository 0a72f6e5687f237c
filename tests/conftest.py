"""Shared fixtures: CIFAR-10 (real and generated), storage backends, the CLI in-process."""

from __future__ import annotations

import contextlib
import os

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # Ray stays on 127.0.0.1

import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from trainers.data import default_data_dir

# Ray's folder, this test run's own (short: Ray's socket paths under it must be). A cluster
# started here (ray.cluster_utils.Cluster) records its address in it, and `ray.init()` or
# `search run` anywhere on the machine that reads that record joins the cluster it names:
# another test run's (`ray.init(num_cpus=...)` then fails) or a user's; its shutdown deletes
# the record, whoever wrote it.
RAY_TMPDIR = tempfile.mkdtemp(prefix="ray", dir=os.environ.get("RAY_TMPDIR", "/tmp"))
os.environ["RAY_TMPDIR"] = RAY_TMPDIR

ROOT = Path(__file__).resolve().parents[1]
MAKE_CIFAR = ROOT.parent / "shared" / "data" / "cifar10" / "make_cifar10.py"
POSTGRES = os.environ.get("SEARCH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
TINY_SPACE = ROOT / "tests" / "data" / "tiny_space.py"
QUICK = ["--epochs", "2", "--train-subset", "256", "--val-size", "256"]  # `search run` in seconds


def _cuda() -> str | None:
    """The CUDA device the `gpu` tests run on, or None."""
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def pytest_report_header() -> list[str]:
    """Said first: whether the dashboard's browser test and the GPU tests can run here."""
    import shutil

    found = {name: shutil.which(name) for name in ("chromium", "chromedriver")}
    if all(found.values()):
        browser = f"browser test: chromium {found['chromium']}, {found['chromedriver']}"
    else:
        missing = " and ".join(name for name, path in found.items() if not path)
        browser = (f"browser test: WILL BE SKIPPED, no {missing} on PATH (`bash scripts/"
                   "setup.sh` as root installs Debian's chromium and chromium-driver)")  # fmt: skip
    gpu = _cuda()
    gpu = f"gpu tests: on {gpu}" if gpu else f"gpu tests: SKIPPED, {NO_CUDA}"
    return [browser, gpu]


NO_CUDA = "no CUDA device here; run them on a GPU machine (../shared/gpu/README.md)"


def pytest_unconfigure() -> None:
    shutil.rmtree(RAY_TMPDIR, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `gpu` skip, saying why, where CUDA is absent."""
    if any("gpu" in item.keywords for item in items) and _cuda() is None:
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(pytest.mark.skip(reason=f"GPU TEST NOT RUN: {NO_CUDA}"))


@pytest.fixture(scope="session")
def cifar_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real CIFAR-10 folder: $SEARCH_TEST_CIFAR, the default cache, or made from ../shared."""
    for candidate in (os.environ.get("SEARCH_TEST_CIFAR"), default_data_dir()):
        if candidate and (Path(candidate) / "cifar-10-batches-py" / "test_batch").is_file():
            return Path(candidate)
    if not MAKE_CIFAR.is_file():
        pytest.skip("no CIFAR-10: set SEARCH_TEST_CIFAR or put ../shared/data beside the repo")
    out = tmp_path_factory.mktemp("cifar10")
    subprocess.run([sys.executable, str(MAKE_CIFAR), str(out)], check=True)
    return out


@pytest.fixture(scope="session")
def fake_cifar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated folder in the standard cifar-10-batches-py layout: random pixels, labels."""
    root = tmp_path_factory.mktemp("fake_cifar")
    folder = root / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {
            b"data": rng.integers(0, 256, (10_000, 3072), dtype=np.uint8),
            b"labels": rng.integers(0, 10, 10_000).tolist(),
        }
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f)
    return root


def _heard() -> None:
    """As from a terminal: a test run started in the background (`cmd &`) ignores SIGINT, and a
    child inherits that, so the child's Python would never hear a Ctrl-C sent to it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def spawn():
    """Start `python -m search ARGS...` in `cwd`, its output piped (text), as from a terminal.

    Whatever is still running when the test ends is killed with its process group (a driver
    and what it started): a failed test leaves nothing behind to slow the tests after it."""
    started: list[subprocess.Popen] = []

    def start(*args: object, cwd: Path, stdout: int | None = subprocess.PIPE) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-m", "search", *map(str, args)], cwd=cwd, stdout=stdout,
            stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=_heard,
        )  # fmt: skip
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate()


def study_being_run(url: str, name: str):
    """The study that a `search run` in another process is creating, or None until it exists.
    The run creates the database's tables; opening them at the same moment races it, so this
    opens the storage as the product does (`storage.open_storage` waits the race out)."""
    import optuna

    from storage import open_storage

    try:
        return optuna.load_study(study_name=name, storage=open_storage(url).backend)
    except KeyError:  # the tables are there, the study not yet
        return None


@pytest.fixture
def postgres_url():
    """A fresh database on the PostgreSQL server, dropped afterwards."""
    import psycopg

    name = f"search_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"{POSTGRES}/{name}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every storage test runs on a SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'search.db'}"
    return request.getfixturevalue("postgres_url")


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Run `search ARGS...` in this process, in tmp_path, and return exit code and output."""
    from search.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SEARCH_STORAGE", raising=False)

    def run(*args: object) -> CliResult:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["search", *map(str, args)])
        try:
            main()
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run

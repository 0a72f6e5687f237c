"""Nothing lost: killed drivers and workers, concurrent drivers, running out of memory, secrets.

Real processes, killed with real signals; real SQLite and PostgreSQL; real Ray.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time

import optuna
import pytest

from tests.conftest import ROOT, TINY_SPACE, study_being_run

pytestmark = pytest.mark.slow


def load(url, name):
    return optuna.load_study(study_name=name, storage=url)


def wait_for_training(url, name, epochs=2, timeout=180):
    """The first running trial with `epochs` reported, once there is one."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        time.sleep(0.5)
        study = study_being_run(url, name)
        for trial in study.trials if study else []:
            if trial.state.name == "RUNNING" and len(trial.intermediate_values) >= epochs:
                return trial
    raise TimeoutError("no trial got far enough")


def slow_run(study, trials, fake_cifar, *extra):
    return ["run", "--space", TINY_SPACE, "--study", study, "--trials", trials, "--epochs", "6",
            "--train-subset", "1280", "--val-size", "500", "--data-dir", fake_cifar,
            "--heartbeat", "1", "--pruner", "none", "--seed", "0", *extra]  # fmt: skip


def retries_of(trials, number):
    return [t for t in trials if t.system_attrs.get("failed_trial") == number]


def test_a_killed_run_is_rerun_and_resumes_its_trial_from_the_checkpoint(
    tmp_path, fake_cifar, spawn
):
    url = f"sqlite:///{tmp_path}/search.db"
    args = slow_run("k", 3, fake_cifar)
    first = spawn(*args, cwd=tmp_path)
    killed = wait_for_training(url, "k")
    os.kill(first.pid, signal.SIGKILL)  # the driver, and with it the trial it was training
    first.wait()
    assert load(url, "k").trials[killed.number].state.name == "RUNNING"  # a zombie, for now

    second = spawn(*args, cwd=tmp_path)  # the same command again
    _, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    trials = load(url, "k").trials
    states = [t.state.name for t in trials]
    assert "RUNNING" not in states and states.count("COMPLETE") == 3  # exactly --trials
    assert trials[killed.number].state.name == "FAIL"
    (retry,) = retries_of(trials, killed.number)
    assert retry.state.name == "COMPLETE"
    assert retry.user_attrs["resumed_from_epoch"] >= 2  # not from epoch 0
    assert sorted(retry.intermediate_values) == [1, 2, 3, 4, 5, 6]
    assert retry.params == killed.params
    assert not (tmp_path / "search-checkpoints").exists()  # all cleaned up


def test_a_killed_ray_worker_is_retried_from_its_checkpoint(tmp_path, fake_cifar, spawn):
    url = f"sqlite:///{tmp_path}/search.db"
    args = slow_run("w", 4, fake_cifar, "--workers", "2", "--cpus-per-trial", "1")
    driver = spawn(*args, cwd=tmp_path)
    victim = wait_for_training(url, "w")
    os.kill(victim.user_attrs["pid"], signal.SIGKILL)  # the Ray worker, not the driver
    _, err = driver.communicate(timeout=300)
    assert driver.returncode == 0, err
    trials = load(url, "w").trials
    assert [t.state.name for t in trials].count("COMPLETE") == 4
    assert "RUNNING" not in {t.state.name for t in trials}
    failed = trials[victim.number]
    assert failed.state.name == "FAIL"
    assert failed.user_attrs["fail_reason"].startswith("worker died")
    (retry,) = retries_of(trials, victim.number)
    assert retry.state.name == "COMPLETE" and retry.user_attrs["resumed_from_epoch"] >= 2


DRIVER = textwrap.dedent(
    """
    import sys
    from search import RunOptions, run_search
    from tests.search.standins import Timed

    options = RunOptions(study="c", trials=24, storage=sys.argv[1] or None, epochs=3,
                         train_subset=1000, data_dir=sys.argv[2], seed=int(sys.argv[3]),
                         heartbeat_s=2)
    run_search(options, Timed(seconds_per_epoch=0.05))
    """
)


@pytest.mark.parametrize(("backend", "processes"), [("postgresql", 8), ("sqlite", 4)])
def test_concurrent_drivers_lose_nothing(request, tmp_path, fake_cifar, backend, processes):
    url = request.getfixturevalue("postgres_url") if backend == "postgresql" else ""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    drivers = [
        subprocess.Popen(
            [sys.executable, "-c", DRIVER, url, str(fake_cifar), str(seed)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in range(processes)
    ]
    errors = [d.communicate(timeout=600)[1] for d in drivers]
    for driver, err in zip(drivers, errors, strict=True):
        assert driver.returncode == 0, err
        assert "locked" not in err and "OperationalError" not in err and "Traceback" not in err
    trials = load(url or f"sqlite:///{tmp_path}/search.db", "c").trials
    states = [t.state.name for t in trials]
    assert "RUNNING" not in states and "WAITING" not in states
    trained = [
        t
        for t in trials
        if t.state.name == "COMPLETE"
        or (t.state.name == "PRUNED" and not t.user_attrs["pruned_reason"].startswith("budget"))
    ]
    assert len(trained) == 24  # exactly, however many drivers raced for the last places
    assert "FAIL" not in states  # a driver refused a place wrote nothing (search.claim)


def test_running_out_of_memory_fails_the_trial_and_the_run_goes_on(tmp_path, fake_cifar):
    import io
    from contextlib import redirect_stderr

    from search import RunOptions, run_search
    from tests.search.standins import OutOfMemoryOnce

    options = RunOptions(study="m", trials=3, storage=f"sqlite:///{tmp_path}/s.db", epochs=2,
                         train_subset=1000, data_dir=fake_cifar, seed=0)  # fmt: skip
    with redirect_stderr(io.StringIO()):
        study = run_search(options, OutOfMemoryOnce(tmp_path / "flag"))
    states = [t.state.name for t in study.trials if "budget" not in
              t.user_attrs.get("pruned_reason", "")]  # fmt: skip
    assert states.count("FAIL") == 1 and states.count("COMPLETE") + states.count("PRUNED") == 3
    (failed,) = [t for t in study.trials if t.state.name == "FAIL"]
    assert failed.user_attrs["fail_reason"].startswith("out of memory: CUDA out of memory")


@pytest.mark.parametrize("where", ["user-info", "query"])
def test_a_password_in_the_storage_url_is_never_shown(
    postgres_url, tmp_path, fake_cifar, where, spawn
):
    if where == "user-info":  # trust auth accepts any password
        url = postgres_url.replace("postgres@", "postgres:s3cret-pw@")
    else:
        url = f"{postgres_url}?password=s3cret-pw&application_name=search"
    run = spawn("run", "--space", TINY_SPACE, "--study", "p", "--trials", "1", "--epochs", "1",
                 "--train-subset", "256", "--val-size", "256", "--data-dir", fake_cifar,
                 "--storage", url, cwd=tmp_path)  # fmt: skip
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    outputs = [out, err]
    for command in (["status", "--study", "p"], ["export", "--study", "p", "-o", "best.yaml"],
                    ["report", "--study", "p", "--out", "report"]):  # fmt: skip
        done = spawn(*command, "--storage", url, cwd=tmp_path)
        outputs.extend(done.communicate(timeout=300))
        assert done.returncode == 0
    outputs += [p.read_text() for p in [tmp_path / "best.yaml", *tmp_path.glob("report/*.*")]
                if p.suffix in (".yaml", ".csv", ".html")]  # fmt: skip
    study = load(url, "p")
    outputs += [
        repr(study.user_attrs),
        repr(study._storage.get_study_system_attrs(study._study_id)),
    ]
    outputs += [repr(t.user_attrs) + repr(t.system_attrs) for t in study.trials]
    masked = "postgres:***@" if where == "user-info" else "password=***&application_name"
    assert any(masked in text for text in outputs)  # the URL is shown, masked
    assert not [text for text in outputs if "s3cret" in text]


def test_a_diverging_trial_fails_with_its_reason_and_the_run_goes_on(tmp_path, fake_cifar, spawn):
    space = ROOT / "tests" / "data" / "diverging_space.py"
    run = spawn("run", "--space", space, "--study", "d", "--trials", "2", "--epochs", "2",
                 "--train-subset", "640", "--val-size", "256", "--data-dir", fake_cifar,
                 "--pruner", "none", cwd=tmp_path)  # fmt: skip
    _, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    trials = load(f"sqlite:///{tmp_path}/search.db", "d").trials
    assert trials[0].state.name == "FAIL"
    assert trials[0].user_attrs["fail_reason"].startswith("diverged: training loss is")
    assert [t.state.name for t in trials[1:]] == ["COMPLETE", "COMPLETE"]

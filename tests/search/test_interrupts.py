"""Ctrl-C at any moment, and faults inside trials: nothing stuck, nothing crashes.

Real `search run` processes sent real signals, the real trainer, a real SQLite file.
"""

import os
import signal
import subprocess
import time

import optuna
import pytest
import sqlalchemy

from search.interrupts import check, exit_code, held, raising
from search.trial import is_trained
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

DATA = ROOT / "tests" / "data"
# After the driver has loaded CIFAR-10, the loop starts: it asks, samples and rejects
# trials for a few milliseconds each and trains the few within budget for about a second.
# These delays land in every step of it: asking, sampling, the budget check, telling a
# rejection, handing a trial to the trainer, training, telling its result.
DELAYS_S = [0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 0.8, 1.2, 2.0]


def run_args(study, trials, fake_cifar, space="mostly_over_budget_space.py", budget=20_000):
    return ["run", "--space", DATA / space, "--study", study, "--trials", trials,
            "--budget", budget, "--epochs", "2", "--train-subset", "512", "--val-size", "256",
            "--data-dir", fake_cifar, "--heartbeat", "1", "--pruner", "none",
            "--seed", "0"]  # fmt: skip


def interrupt(start, args, cwd, delay_s):
    """Run, and send SIGINT `delay_s` after the driver has loaded the data (its last step
    before the loop)."""
    process = start(*args, cwd=cwd, stdout=subprocess.DEVNULL)
    for line in process.stderr:
        if line.startswith("loading CIFAR-10") and ": done in " in line:
            break
    time.sleep(delay_s)
    process.send_signal(signal.SIGINT)
    err = process.stderr.read()
    process.wait(timeout=60)
    return process.returncode, err


def test_ctrl_c_at_any_moment_leaves_nothing_running_and_a_rerun_completes(
    tmp_path, fake_cifar, spawn
):
    url, trials = f"sqlite:///{tmp_path}/search.db", 10
    args = run_args("c", trials, fake_cifar)
    for delay_s in DELAYS_S:
        code, err = interrupt(spawn, args, tmp_path, delay_s)
        # 0: it had finished before the signal came; -SIGINT (a shell's 130 too): the signal
        # came as Python was exiting, after it had put back the default handler
        assert code in (0, 130, -signal.SIGINT), err
        assert "Traceback" not in err
        study = optuna.load_study(study_name="c", storage=url)
        states = [t.state.name for t in study.trials]
        assert "RUNNING" not in states, (delay_s, states)
        for t in study.trials:
            if t.state.name == "FAIL":
                assert t.user_attrs["fail_reason"].startswith("interrupted"), t.user_attrs
    interrupted = [t for t in study.trials if t.state.name == "FAIL"]
    assert len(interrupted) >= len(DELAYS_S) // 2  # most signals came while a trial was held

    rerun = spawn(*args, cwd=tmp_path)
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    study = optuna.load_study(study_name="c", storage=url)
    assert sum(is_trained(t) for t in study.trials) == trials
    assert not [t for t in study.trials if t.state.name in ("RUNNING", "WAITING")]
    resumed = [t for t in study.trials if t.system_attrs.get("failed_trial") is not None]
    assert resumed, "interrupted trials are queued again and run by the next run"
    assert not (tmp_path / "search-checkpoints").exists()  # no checkpoint, no empty folder


def test_a_trial_killed_before_its_first_heartbeat_is_failed_by_the_next_run(
    tmp_path, fake_cifar, spawn
):
    """SIGKILL can land between creating a trial and its first heartbeat; made here with a
    trial created as a dead driver would have left it."""
    url = f"sqlite:///{tmp_path}/search.db"
    args = run_args("k", 2, fake_cifar)
    first = spawn(*args, cwd=tmp_path)
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    study = optuna.load_study(study_name="k", storage=url)
    orphan = study.ask()  # RUNNING, and no heartbeat ever recorded
    time.sleep(3.5)  # older than the grace period of 3 beats of 1 s
    rerun = spawn(*args[:6], "3", *args[7:], cwd=tmp_path)
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    study = optuna.load_study(study_name="k", storage=url)
    record = study.trials[orphan.number]
    assert record.state.name == "FAIL"
    assert record.user_attrs["fail_reason"].startswith("orphaned: its driver died")
    assert sum(is_trained(t) for t in study.trials) == 3


def test_a_fault_inside_a_trial_fails_that_trial_and_the_study_goes_on(tmp_path, fake_cifar, spawn):
    args = run_args("faulty", 3, fake_cifar, space="faulty_space.py", budget=10**10)
    run = spawn(*args, cwd=tmp_path)
    _, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    assert "Traceback" not in err
    study = optuna.load_study(study_name="faulty", storage=f"sqlite:///{tmp_path}/search.db")
    reasons = {t.number: t.user_attrs.get("fail_reason", "") for t in study.trials}
    assert study.trials[1].state.name == "FAIL"
    assert reasons[1] == "ZeroDivisionError: a bug in the space"
    assert study.trials[2].state.name == "FAIL"  # the real trainer found it cannot fit
    assert "GB" in reasons[2] and study.trials[2].user_attrs["n_params"] > 9e9
    assert sum(is_trained(t) for t in study.trials) == 3
    assert not [t for t in study.trials if t.state.name == "RUNNING"]
    assert not (tmp_path / "search-checkpoints").exists()


@pytest.fixture
def terminal():
    """SIGINT as a terminal leaves it to this process (a run in the background ignores it)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def test_an_interrupt_inside_a_finaliser_is_raised_after_it_not_swallowed(terminal):
    """Python swallows an exception raised in `__del__` ("Exception ignored in ...")."""

    class Finalised:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # the handler runs here, inside the finaliser

    with raising():
        Finalised()  # finalised at once: nothing refers to it
        with pytest.raises(KeyboardInterrupt):
            check()


def test_an_interrupt_inside_a_database_call_lets_the_call_finish(terminal):
    """SQLAlchemy cut short logs the cursor it could not close, with a traceback."""
    engine = sqlalchemy.create_engine("sqlite://")

    @sqlalchemy.event.listens_for(engine, "before_cursor_execute")
    def interrupt(*args):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)

    with raising(), engine.connect() as connection:
        assert connection.execute(sqlalchemy.text("SELECT 1")).scalar() == 1
        with pytest.raises(KeyboardInterrupt):
            check()
    with raising(), pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)  # elsewhere it is raised at once


def test_a_signal_the_run_was_started_to_ignore_stays_ignored():
    """A shell starts a background job (`search run ... &`) with SIGINT ignored, so that a
    Ctrl-C meant for the shell does not stop it; SIGTERM still does."""
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with raising():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            check()  # not held for later either
            with pytest.raises(KeyboardInterrupt):
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(1)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        assert exit_code() == 143  # 128 + SIGTERM, as a shell reports a process it stopped
    finally:
        signal.signal(signal.SIGINT, before)


def test_the_exit_code_names_the_signal_even_when_it_was_held():
    with raising():
        assert exit_code() == 130  # a KeyboardInterrupt of no signal of ours: Ctrl-C's code
        with pytest.raises(KeyboardInterrupt), held():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)  # held: raised as the block ends
        assert exit_code() == 143
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
        assert exit_code() == 130

"""Trials on real Ray: logical GPUs on this CPU machine, simulated nodes, SQLite and PostgreSQL."""

import io
import json
import os
import signal
import time
from contextlib import redirect_stderr
from datetime import datetime
from itertools import combinations

import optuna
import pytest
import ray
from ray.cluster_utils import Cluster

import tests.search.standins as standins
from search import RunOptions, is_trained, run_search
from tests.conftest import TINY_SPACE, study_being_run

pytestmark = pytest.mark.slow

ray.cloudpickle.register_pickle_by_value(standins)  # workers need not import the tests


@pytest.fixture(autouse=True)
def data(monkeypatch, fake_cifar):
    monkeypatch.setenv("SEARCH_DATA_DIR", str(fake_cifar))


@pytest.fixture
def two_gpus():
    """A local Ray with two logical GPUs (no real ones: Ray only schedules them)."""
    ray.init(num_cpus=2, num_gpus=2, include_dashboard=False)
    yield
    ray.shutdown()


def search(url, trials, train_fn, **options):
    options = {"epochs": 3, "train_subset": 1000, "seed": 0, "device": "cpu", **options}
    with redirect_stderr(io.StringIO()):
        return run_search(RunOptions(study="s", trials=trials, storage=url, **options), train_fn)


def spans(log_dir, trials):
    """What the stand-in logged, each run matched to its trial: a worker process trains one
    trial at a time, so a run belongs to the first trial of its process told after it ended."""
    runs = [json.loads(p.read_text()) for p in log_dir.iterdir()]
    for run in runs:
        end = datetime.fromtimestamp(run["end"])
        mine = [t for t in trials if t.user_attrs.get("pid") == run["pid"]]
        run["trial"] = min(
            (t for t in mine if t.datetime_complete >= end), key=lambda t: t.datetime_complete
        ).number
    assert len({r["trial"] for r in runs}) == len(runs)
    return runs


def test_two_gpus_two_trials_at_once_each_on_its_own_gpu(two_gpus, tmp_path):
    log_dir = tmp_path / "log"
    log_dir.mkdir()
    train = standins.Timed(seconds_per_epoch=0.5, log_dir=str(log_dir))
    study = search(f"sqlite:///{tmp_path}/s.db", 8, train, workers=3, gpus_per_trial=1,
                   pruner="none")  # fmt: skip
    trained = [t for t in study.trials if is_trained(t)]
    assert len(trained) == 8
    runs = spans(log_dir, trained)
    assert len(runs) == 8
    overlapping = [(a, b) for a, b in combinations(runs, 2)
                   if a["start"] < b["end"] and b["start"] < a["end"]]  # fmt: skip
    assert overlapping, "trials never ran at the same time"
    for a, b in overlapping:
        assert a["cuda_visible_devices"] != b["cuda_visible_devices"]
    for moment in [r["start"] + 0.01 for r in runs]:
        assert sum(r["start"] <= moment < r["end"] for r in runs) <= 2  # 3 workers, 2 GPUs
    by_number = {t.number: t for t in trained}
    for run in runs:
        trial = by_number[run["trial"]]
        assert trial.user_attrs["gpu_ids"] == run["cuda_visible_devices"].split(",")
        assert trial.user_attrs["pid"] == run["pid"]


def test_two_nodes_write_one_study_in_postgresql(postgres_url, tmp_path):
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "num_gpus": 1})
    cluster.add_node(num_cpus=1, num_gpus=1)
    cluster.wait_for_nodes()
    try:
        log_dir = tmp_path / "log"
        log_dir.mkdir()
        train = standins.Timed(seconds_per_epoch=0.3, log_dir=str(log_dir))
        study = search(postgres_url, 8, train, ray_address=cluster.address, gpus_per_trial=1,
                       pruner="none", warm_start=False)  # fmt: skip
    finally:
        ray.shutdown()
        cluster.shutdown()
    trained = [t for t in study.trials if is_trained(t)]
    assert len(trained) == 8
    assert len({t.user_attrs["node"] for t in trained}) == 2  # both nodes ran trials
    assert {t.state.name for t in study.trials} <= {"COMPLETE", "PRUNED"}
    assert sorted(r["trial"] for r in spans(log_dir, trained)) == sorted(t.number for t in trained)


def test_four_workers_on_the_sqlite_default_lose_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ray.init(num_cpus=4, include_dashboard=False)
    try:
        study = search(None, 16, standins.Timed(seconds_per_epoch=0.1), workers=4,
                       cpus_per_trial=1)  # fmt: skip
    finally:
        ray.shutdown()
    assert (tmp_path / "search.db").is_file()
    trials = study.trials
    assert sum(is_trained(t) for t in trials) == 16
    assert {t.state.name for t in trials} <= {"COMPLETE", "PRUNED"}  # no FAIL, none RUNNING
    assert len({t.user_attrs["pid"] for t in trials if is_trained(t)}) >= 2


def test_at_the_timeout_no_trial_starts_and_the_running_ones_finish(two_gpus, tmp_path):
    started = time.time()
    study = search(f"sqlite:///{tmp_path}/s.db", 100, standins.Timed(seconds_per_epoch=0.5),
                   workers=2, gpus_per_trial=1, pruner="none", timeout_s=8)  # fmt: skip
    ended = time.time()
    trained = [t for t in study.trials if is_trained(t)]
    assert 2 <= len(trained) < 100
    states = {t.state.name for t in study.trials}  # WAITING: zoo designs left for the next run
    assert states <= {"COMPLETE", "PRUNED", "WAITING"}  # none RUNNING, none FAIL
    assert max(t.datetime_start.timestamp() for t in trained) <= started + 8
    # the run ended as its last trials did: none started after. Not counted from the deadline:
    # a trial takes 1.5 s here, plus its worker's start (a new process: 9 s on a quiet 2-core
    # machine, twice that on a busy one)
    assert ended - max(t.datetime_complete.timestamp() for t in trained) < 5


def test_a_trial_is_pruned_by_another_workers_results(two_gpus, tmp_path):
    study = search(f"sqlite:///{tmp_path}/s.db", 14, standins.Timed(seconds_per_epoch=0.2),
                   workers=2, gpus_per_trial=1, pruner="sha")  # fmt: skip
    trials = [t for t in study.trials if is_trained(t)]
    pruned = [t for t in trials if t.state.name == "PRUNED"]
    assert pruned
    assert any(
        q.user_attrs["pid"] != p.user_attrs["pid"]
        and q.datetime_complete < p.datetime_start
        and q.intermediate_values[1] > p.intermediate_values[1]
        for p in pruned
        for q in trials
    )


def test_progress_shows_every_workers_epochs(two_gpus, tmp_path):
    err = io.StringIO()
    with redirect_stderr(err):
        run_search(
            RunOptions(study="p", trials=3, storage=f"sqlite:///{tmp_path}/s.db", epochs=3,
                       train_subset=1000, workers=2, gpus_per_trial=1, device="cpu",
                       pruner="none", seed=0),
            standins.Timed(seconds_per_epoch=1.5),
        )  # fmt: skip
    text = err.getvalue()
    assert "trials on Ray, 2 at once, each with 1 GPU" in text
    assert "through Optuna's gRPC proxy at grpc://127.0.0.1:" in text
    for number in range(3):
        assert f"trial {number:>4} epoch 2  val acc" in text
        assert f"trial {number:>4} COMPLETE" in text


def test_the_driver_stops_when_a_worker_reports_bad_input(two_gpus, tmp_path):
    from errors import UserError

    url = f"sqlite:///{tmp_path}/s.db"
    with pytest.raises(UserError) as raised:
        search(url, 4, standins.missing_data, workers=2, gpus_per_trial=1)
    line = "--data-dir /data: no CIFAR-10 on this worker"
    assert str(raised.value) == line  # the worker's one line, not Ray's traceback around it
    study = optuna.load_study(study_name="s", storage=url)
    assert study.trials and "RUNNING" not in {t.state.name for t in study.trials}
    stopped = [t.user_attrs["fail_reason"] for t in study.trials if t.state.name == "FAIL"]
    assert stopped and all(reason == f"stopped: {line}" for reason in stopped)


@pytest.mark.parametrize("given", [False, True])
def test_workers_find_the_data_themselves_and_cuda_graphs_need_no_gpu_on_the_driver(
    two_gpus, tmp_path, fake_cifar, monkeypatch, given
):
    """Without --data-dir each node reads its own cache (not the driver's path); with one,
    the same absolute path. A driver without CUDA (Ray's GPUs here are logical) leaves the
    graph check of the automatic precision to the workers' devices."""
    (log := tmp_path / "log").mkdir()
    monkeypatch.chdir(fake_cifar.parent)
    data_dir = {"data_dir": fake_cifar.name} if given else {}
    search(f"sqlite:///{tmp_path}/s.db", 2, standins.KwargsLog(log), workers=2,
           gpus_per_trial=1, cuda_graphs=True, **data_dir)  # fmt: skip
    heard = [json.loads(p.read_text()) for p in log.iterdir()]
    want = str(fake_cifar.absolute()) if given else None
    assert heard and all(h == {"data_dir": want, "graphs": "True"} for h in heard)


def test_a_trial_that_ended_beside_one_with_bad_input_is_still_told(two_gpus, tmp_path):
    """Two tasks end before the driver looks: one met bad input, the other completed; the
    bad input stops the search, and the completed trial's outcome is not lost with it."""
    from errors import UserError
    from search.executors.ray_tasks import RayExecutor
    from search.executors.resources import Resources
    from search.fidelity import Fidelity
    from search.sampling import sample
    from spaces import get_space

    url = f"sqlite:///{tmp_path}/s.db"
    study = optuna.create_study(study_name="s", storage=url, direction="maximize")
    train_fn = standins.BadInputOnce(tmp_path / "flag")
    executor = RayExecutor(Resources(2, 1.0, 1.0, gpus=2), url, "s", study.pruner, train_fn,
                           {"device": "cpu"})  # fmt: skip
    for _ in range(2):
        trial = study.ask()
        config = sample(trial, get_space(str(TINY_SPACE)), Fidelity(1, 500, 500), budget=10**9)
        executor.submit(trial, config, tmp_path / f"{trial.number}.pt")
    ray.wait(list(executor.tasks), num_returns=2)  # both have ended
    told, raised = [], 0
    while executor.running():
        try:
            told += executor.wait(0)
        except UserError:
            raised += 1
    assert raised == 1
    assert [outcome.state.name for _, outcome in told] == ["COMPLETE"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stopping_the_driver_stops_workers_and_fails_their_trials(
    tmp_path, fake_cifar, signum, spawn
):
    url = f"sqlite:///{tmp_path}/s.db"
    args = ["run", "--space", TINY_SPACE, "--study", "s", "--trials", "6", "--workers", "2",
            "--cpus-per-trial", "1", "--epochs", "50", "--train-subset", "2000", "--val-size",
            "500", "--data-dir", fake_cifar, "--storage", url]  # fmt: skip
    driver = spawn(*args, cwd=tmp_path, stdout=None)  # killed with its workers if it fails
    deadline = time.time() + 120
    while time.time() < deadline:  # until both workers are training
        time.sleep(1)
        study = study_being_run(url, "s")
        running = [t for t in study.trials if t.state.name == "RUNNING"] if study else []
        if len(running) == 2 and all(t.intermediate_values for t in running):
            break
    else:
        pytest.fail("two trials never ran at once")
    pids = [t.user_attrs["pid"] for t in running]
    driver.send_signal(signum)
    _, err = driver.communicate(timeout=60)
    assert driver.returncode == 128 + signum, err  # 130 for Ctrl-C, 143 for SIGTERM
    study = optuna.load_study(study_name="s", storage=url)
    states = {t.number: t.state.name for t in study.trials}
    assert "RUNNING" not in states.values()
    for t in running:
        assert states[t.number] == "FAIL"
        reason = study.trials[t.number].user_attrs["fail_reason"]
        assert reason == "interrupted; queued to resume from its checkpoint"
    queued = [t.system_attrs["failed_trial"] for t in study.trials if t.state.name == "WAITING"]
    assert sorted(queued) == sorted(t.number for t in running)  # the next run resumes them
    time.sleep(2)
    for pid in pids:  # the workers are gone with the driver's Ray
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)

"""Trials sharing GPUs on real Ray, with logical GPUs on this CPU machine (Ray only schedules
them): each trial's own share by its model and batch, or --trials-per-gpu."""

import io
import json
from contextlib import contextmanager, redirect_stderr
from datetime import datetime
from itertools import pairwise

import pytest
import ray

import tests.search.standins as standins
from errors import UserError
from search import RunOptions, is_trained, run_search
from search.executors.resources import Resources, plan_resources, slots
from search.executors.sharing import trials_per_gpu
from tests.conftest import ROOT
from trainers import TrainConfig

pytestmark = pytest.mark.slow

ray.cloudpickle.register_pickle_by_value(standins)  # workers need not import the tests
TWO_SIZES = str(ROOT / "tests" / "data" / "two_sizes_space.py")


@contextmanager
def two_node_cluster(head: dict, other: dict):
    """Ray joined to a real cluster of two nodes, each with the GPUs and CPUs given."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args=head)
    cluster.add_node(**other)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address)
    try:
        yield
    finally:
        ray.shutdown()
        cluster.shutdown()


@pytest.fixture
def one_gpu_four_cpus():
    ray.init(num_cpus=4, num_gpus=1, include_dashboard=False)
    yield
    ray.shutdown()


def test_plans_on_one_gpu_and_four_cpus(one_gpu_four_cpus):
    assert plan_resources(None, None, None) == Resources(4, None, 1.0, 1.0)  # shares by trial
    assert plan_resources(None, None, None, trials_per_gpu=2) == Resources(2, 0.5, 1.0, 1.0)
    assert plan_resources(None, 1.0, None) == Resources(1, 1.0, 1.0, 1.0)
    assert plan_resources(3, None, 0.5).workers == 3
    assert plan_resources(None, None, None, device="cpu") == Resources(1, 0.0, 4.0, 1.0)
    with pytest.raises(UserError, match="--device cuda; --gpus-per-trial 0; allowed: --device cpu"):
        plan_resources(None, 0.0, None, device="cuda")
    for bad in (2.0, 1.5, 1e-5, -1.0, float("nan")):  # Ray takes fractions or whole GPUs
        with pytest.raises(UserError, match=r"--gpus-per-trial \S+; allowed: 0"):
            plan_resources(None, bad, None)
    for bad in (0.0, float("nan"), 5.0):
        with pytest.raises(UserError, match=r"--cpus-per-trial \S+; allowed: more than 0, at most"):
            plan_resources(None, None, bad)


def test_a_trial_asks_no_more_than_one_node_has():
    with two_node_cluster({"num_cpus": 1, "num_gpus": 1}, {"num_cpus": 1, "num_gpus": 1}):
        with pytest.raises(UserError, match=r"whole number of GPUs up to 1 \(the most one node"):
            plan_resources(None, 2.0, None)  # two GPUs in all, but never on one node
        assert plan_resources(None, None, None) == Resources(2, None, 1.0, 2.0)


def test_trials_per_gpu_or_cuda_on_a_cluster_without_gpus_is_one_clear_error():
    ray.init(num_cpus=1, num_gpus=0, include_dashboard=False)
    try:
        with pytest.raises(UserError, match="--trials-per-gpu 2; the cluster has no GPUs"):
            plan_resources(None, None, None, trials_per_gpu=2)
        with pytest.raises(UserError, match="--device cuda; the cluster has no GPUs; allowed: "):
            plan_resources(None, None, None, device="cuda")  # a worker would find none
        assert plan_resources(None, None, None) == Resources(1, 0.0, 1.0, 0.0)
    finally:
        ray.shutdown()


def test_trials_at_once_are_what_each_node_holds():
    two_gpus = [(2.0, 16.0)]
    assert slots(two_gpus, 0.4, 1.0) == 4  # 2 per GPU: a fraction never spans two GPUs
    assert slots(two_gpus, 0.25, 1.0) == 8 and slots(two_gpus, 1 / 3, 1.0) == 6
    assert slots([(3.0, 8.0), (3.0, 8.0)], 2.0, 1.0) == 2  # one per node
    assert slots([(0.0, 2.0), (1.0, 0.0)], 1.0, 1.0) == 0  # GPUs and CPUs on different nodes
    assert slots([(4.0, 2.0)], 0.5, 1.0) == 2  # CPUs bind
    assert slots([(0.0, 8.0)], 0.0, 3.0) == 2


def test_a_cluster_whose_gpus_and_cpus_are_on_different_nodes_is_one_clear_error():
    nodes = {"num_cpus": 2, "num_gpus": 0}, {"num_cpus": 0, "num_gpus": 1}
    with (
        two_node_cluster(*nodes),
        pytest.raises(UserError, match="no node of the Ray cluster has a GPU and 1 CPU"),
    ):
        plan_resources(None, None, None)


def runs_of(study_trials, log_dir):
    """Each trained trial's run as the stand-in logged it (one trial per worker process at a
    time: a run is its process's first trial told after it ended), with the trial."""
    runs = [json.loads(p.read_text()) for p in log_dir.iterdir()]
    trained = [t for t in study_trials if is_trained(t)]
    for run in runs:
        end = datetime.fromtimestamp(run["end"])
        mine = [t for t in trained if t.user_attrs["pid"] == run["pid"]]
        run["trial"] = min((t for t in mine if t.datetime_complete >= end),
                           key=lambda t: t.datetime_complete)  # fmt: skip
    return runs


def at_once(runs, run):
    """The runs going on when `run` started, itself included."""
    return [r for r in runs if r["start"] <= run["start"] + 0.01 < r["end"]]


def search(tmp_path, trials, **options):
    log_dir = tmp_path / "log"
    log_dir.mkdir(parents=True)
    train = standins.Timed(seconds_per_epoch=1.5, log_dir=str(log_dir))  # > a worker's start
    options = {"epochs": 2, "train_subset": 1000, "seed": 0, "pruner": "none",
               "warm_start": False, **options}  # fmt: skip  # no device: the GPUs Ray gives
    run = RunOptions(study="s", trials=trials, storage=f"sqlite:///{tmp_path}/s.db", **options)
    err = io.StringIO()
    with redirect_stderr(err):
        study = run_search(run, train)
    return study, runs_of(study.trials, log_dir), err.getvalue()


def test_each_trial_holds_the_share_its_model_and_batch_ask_and_no_gpu_is_overfilled(
    one_gpu_four_cpus, tmp_path
):
    study, runs, said = search(tmp_path, 8, space=TWO_SIZES, workers=4)  # Ray, as on a GPU
    assert "Ray, up to 4 at once, each with 1, 1/2 or 1/4 GPU by its model and batch" in said
    trained = [t for t in study.trials if is_trained(t)]
    assert len(trained) == 8 and len(runs) == 8
    assert {t.state.name for t in study.trials} <= {"COMPLETE", "PRUNED"}
    for t in trained:
        config = TrainConfig.from_dict(t.user_attrs["config"])
        assert t.user_attrs["gpus"] == 1 / trials_per_gpu(config)
    assert {t.user_attrs["gpus"] for t in trained} == {0.25, 1.0}  # both sizes were sampled
    for run in runs:
        assert sum(r["trial"].user_attrs["gpus"] for r in at_once(runs, run)) <= 1
    assert max(len(at_once(runs, r)) for r in runs) >= 3  # the tiny ones shared the GPU
    assert len({r["pid"] for r in runs}) < len(runs)  # one GPU per node: processes reused


def test_on_a_node_of_several_gpus_each_gpu_trial_trains_in_a_new_process(tmp_path):
    ray.init(num_cpus=2, num_gpus=2, include_dashboard=False)
    try:
        _, runs, _ = search(tmp_path, 4, workers=2, gpus_per_trial=1)
    finally:
        ray.shutdown()
    assert len(runs) == 4 and len({r["pid"] for r in runs}) == 4
    assert {r["cuda_visible_devices"] for r in runs} == {"0", "1"}


def test_trials_per_gpu_fixes_the_share(one_gpu_four_cpus, tmp_path):
    study, runs, said = search(tmp_path, 6, trials_per_gpu=2)
    assert "trials on Ray, 2 at once, each with 0.5 GPU" in said
    assert {t.user_attrs["gpus"] for t in study.trials if is_trained(t)} == {0.5}
    assert max(len(at_once(runs, r)) for r in runs) == 2


def test_no_trial_waits_in_rays_queue_while_the_study_counts_it_running(
    one_gpu_four_cpus, tmp_path
):
    study, _, _ = search(tmp_path, 4, workers=3, gpus_per_trial=1.0)  # 3 asked, 1 GPU
    trained = sorted((t for t in study.trials if is_trained(t)), key=lambda t: t.datetime_start)
    assert len(trained) == 4
    for before, after in pairwise(trained):  # RUNNING in the study one at a time
        assert before.datetime_complete <= after.datetime_start


def test_trials_per_gpu_on_a_machine_without_gpus_says_so(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has GPUs")
    for n in (1, 2):  # none is ignored
        with pytest.raises(UserError, match=f"--trials-per-gpu {n}; the cluster has no GPUs"):
            search(tmp_path / str(n), 2, trials_per_gpu=n)

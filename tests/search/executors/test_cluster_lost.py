"""A Ray cluster whose head dies under a run: the run stops at once, its trials queued again.

Killing a head under this process would end the process too (Ray exits a driver whose GCS is
gone for a minute), so the head's silence is stood in for; the workers die for real.
"""

import io
import socket
import time
from contextlib import redirect_stderr
from types import SimpleNamespace

import optuna
import pytest
import ray
from ray.cluster_utils import Cluster

import tests.search.standins as standins
from search import RunOptions, run_search
from search.executors import ray_tasks
from search.executors.ray_address import unanswered
from search.executors.ray_tasks import ClusterLost, RayExecutor
from tests.conftest import TINY_SPACE

pytestmark = pytest.mark.slow

ray.cloudpickle.register_pickle_by_value(standins)  # workers need not import the tests


@pytest.fixture
def local_ray(monkeypatch, fake_cifar):
    monkeypatch.setenv("SEARCH_DATA_DIR", str(fake_cifar))
    ray.init(num_cpus=2, include_dashboard=False)
    yield
    ray.shutdown()


def test_a_live_clusters_head_answers(local_ray):
    assert unanswered(ray.get_runtime_context().gcs_address) is None


def test_a_dead_head_stops_the_run_and_queues_every_trial_again(local_ray, tmp_path, monkeypatch):
    monkeypatch.setattr(ray_tasks, "unanswered", lambda address: "Connection refused")
    url = f"sqlite:///{tmp_path}/s.db"
    train = standins.DiesOnce(tmp_path / "flag", seconds_per_epoch=5)
    options = RunOptions(study="s", trials=4, storage=url, space=str(TINY_SPACE), epochs=3,
                         train_subset=500, seed=0, device="cpu", workers=2, cpus_per_trial=1,
                         pruner="none")  # fmt: skip
    with redirect_stderr(io.StringIO()), pytest.raises(ClusterLost, match="Connection refused"):
        run_search(options, train)
    trials = optuna.load_study(study_name="s", storage=url).trials
    states = sorted(t.state.name for t in trials)
    assert states == ["FAIL", "FAIL", "WAITING", "WAITING"]  # none left RUNNING, none started
    reasons = sorted(t.user_attrs["fail_reason"] for t in trials if t.state.name == "FAIL")
    assert reasons[0].startswith("Ray cluster lost; queued to ")  # the one still training
    assert reasons[1].startswith("worker died (")
    queued = sorted(t.system_attrs["failed_trial"] for t in trials if t.state.name == "WAITING")
    assert queued == sorted(t.number for t in trials if t.state.name == "FAIL")


def test_through_ray_client_a_died_worker_does_not_ask_the_heads_own_port(monkeypatch):
    """Ray Client (ray://) is for clusters whose own ports this machine may not reach: there a
    died worker must not be taken for a dead head (it was, whenever a worker died)."""
    monkeypatch.setattr(ray_tasks, "unanswered", lambda address: "unreachable from here")
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 1, "ray_client_server_port": port}
    )
    try:
        deadline = time.monotonic() + 60
        while ray.util.client.ray.is_connected() is False:
            try:
                ray.init(f"ray://127.0.0.1:{port}")
            except ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        in_hand = SimpleNamespace(tasks={}, gpus_held={}, held_back=[])
        RayExecutor._check_cluster(in_hand, [])  # no ClusterLost
    finally:
        ray.shutdown()
        cluster.shutdown()

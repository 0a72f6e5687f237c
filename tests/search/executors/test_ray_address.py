"""The Ray cluster a run joins is asked whether it answers before `ray.init` waits on it."""

import functools
import shutil
import socket
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
import ray
from ray._private import services
from ray.cluster_utils import Cluster

from errors import UserError
from search.executors.ray_address import ray_target
from search.executors.ray_tasks import ray_session


@pytest.fixture
def ray_tmp(monkeypatch):
    """Ray's folder (where its record of the last cluster lives), this test's own; short, as
    Ray's socket paths under it must be. With `auto`, Ray also joins any one Ray of this
    machine it finds by its process (another test run's, a user's): here it finds none."""
    path = Path(tempfile.mkdtemp(prefix="r", dir="/tmp"))
    monkeypatch.setenv("RAY_TMPDIR", str(path))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr(services, "find_gcs_addresses", functools.cache(frozenset))
    (path / "ray").mkdir()
    yield path / "ray"
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def not_ray():
    """HOST:PORT of a server that accepts connections and is not Ray (it says so and closes)."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    threading.Thread(target=serve, daemon=True).start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    server.close()


def closed_port() -> str:
    with socket.create_server(("127.0.0.1", 0)) as free:
        return f"127.0.0.1:{free.getsockname()[1]}"


def test_an_address_where_no_ray_head_answers_is_one_line(not_ray, capfd, caplog):
    for address in (not_ray, f"ray://{not_ray}", closed_port()):
        with pytest.raises(UserError, match=f"--ray-address {address}: no Ray head answers there"):
            ray_target(address)
    for bad in ("nohost", ":6379"):
        with pytest.raises(UserError, match=f"--ray-address {bad}: not HOST:PORT; allowed: HOST"):
            ray_target(bad)
    assert "Failed to convert" not in capfd.readouterr().err + caplog.text  # Ray's traceback


def _wait_for_port(port: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_a_running_ray_head_is_joined(ray_tmp, monkeypatch):
    client_port = closed_port().rpartition(":")[2]
    head = {"num_cpus": 1, "ray_client_server_port": int(client_port)}
    cluster = Cluster(initialize_head=True, head_node_args=head)
    try:
        client = f"ray://127.0.0.1:{client_port}"  # Ray Client's server: no health check
        _wait_for_port(int(client_port))  # the head starts it after it returns
        assert ray_target(client) == client
        assert ray_target(cluster.address) == cluster.address
        monkeypatch.setenv("http_proxy", f"http://{closed_port()}")  # Ray's gRPC skips proxies
        assert ray_target(cluster.address) == cluster.address
        port = cluster.address.rpartition(":")[2]
        assert ray_target(f"localhost:{port}") == f"localhost:{port}"  # resolved as Ray does
        with pytest.raises(UserError, match=f"ray://{cluster.address}: .* a Ray head's own port"):
            ray_target(f"ray://{cluster.address}")  # before: Ray Client waited 30 s, then failed
        (ray_tmp / "ray_current_cluster").write_text(cluster.address)
        assert ray_target("auto") == "auto"  # Ray joins the one its record names
        assert ray_target(None) is None
    finally:
        cluster.shutdown()


def test_a_stale_record_of_the_last_cluster_is_passed_over(ray_tmp, capsys):
    """Ray joins the cluster its record names even after it died, retrying for minutes."""
    stale = closed_port()
    (ray_tmp / "ray_current_cluster").write_text(stale)
    assert ray_target(None) == "local"
    assert f"names {stale}; no Ray head answers there" in capsys.readouterr().err
    with pytest.raises(UserError, match=f"--ray-address auto: Ray's record .* names {stale}; no"):
        ray_target("auto")
    with ray_session(None):  # before: a hang
        assert ray.cluster_resources()["CPU"] >= 1


def test_ray_address_in_the_environment_is_checked(ray_tmp, monkeypatch, not_ray):
    for address in (not_ray, f"ray://{not_ray}"):
        monkeypatch.setenv("RAY_ADDRESS", address)
        for given in (None, "auto"):
            with pytest.raises(UserError, match=f"RAY_ADDRESS={address}: no Ray head answers"):
                ray_target(given)


@pytest.fixture
def head_asking_a_token():
    """HOST:PORT of a gRPC server that answers the health check, as a Ray head does, and refuses
    Ray's calls without a token, as `ray start --head` does where ~/.ray/auth_token exists."""

    def refuse(request, context):
        context.abort(grpc.StatusCode.UNAUTHENTICATED, "InvalidAuthToken: token is missing")

    methods = {
        "/grpc.health.v1.Health/Check": lambda request, context: b"\x08\x01",
        "/ray.rpc.NodeInfoGcsService/GetClusterId": refuse,
    }
    server = grpc.server(ThreadPoolExecutor(2))

    class Handler(grpc.GenericRpcHandler):
        def service(self, details):
            method = methods.get(details.method)
            return method and grpc.unary_unary_rpc_method_handler(method)

    server.add_generic_rpc_handlers((Handler(),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(None)


def test_a_head_that_asks_a_token_this_run_lacks_is_one_line(head_asking_a_token, monkeypatch):
    """Before: Ray warned 20 times in 20 s, then failed saying nothing of the token."""
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # this process sends no token
    with pytest.raises(UserError, match=r"asks for an authentication token .* RAY_AUTH_MODE=token"):
        ray_target(head_asking_a_token)

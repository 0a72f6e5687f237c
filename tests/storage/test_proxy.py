import warnings

import optuna
import pytest
from optuna.storages._grpc.server import make_server

from storage import open_storage
from storage.proxy import serve_proxy


def test_workers_reach_the_study_through_the_proxy(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path / 'a.db'}")
    optuna.create_study(study_name="s", storage=storage.backend, direction="maximize")
    with serve_proxy(storage, "127.0.0.1") as address:
        worker = optuna.load_study(study_name="s", storage=open_storage(address).backend)
        worker.tell(worker.ask(), 0.5)
    assert optuna.load_study(study_name="s", storage=storage.backend).best_value == 0.5


def test_no_other_server_can_share_the_proxys_port(tmp_path):
    """gRPC servers share a port by default (SO_REUSEPORT): a second driver's proxy given the
    same port would start, and each worker would reach one of the two databases, either one."""
    storage = open_storage(f"sqlite:///{tmp_path / 'a.db'}")
    with serve_proxy(storage, "127.0.0.1") as address:
        port = int(address.rpartition(":")[2])
        with warnings.catch_warnings(), pytest.raises(RuntimeError, match="bind"):
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            make_server(optuna.storages.InMemoryStorage(), "127.0.0.1", port).start()

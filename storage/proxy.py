"""Optuna's gRPC storage proxy: one process owns the database, workers reach it over gRPC.

A SQLite file then has a single writer however many workers a search runs, and workers on
other machines can use it too. `open_storage("grpc://HOST:PORT")` is the client side.
"""

from __future__ import annotations

import socket
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import optuna

# Optuna's public run_grpc_proxy_server blocks until the process ends; the driver serves only
# while its trials run, so it starts and stops the server that function would build itself.
from optuna.storages._grpc.server import make_server

from storage.study_storage import Storage

__all__ = ["serve_proxy"]


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@contextmanager
def serve_proxy(storage: Storage, host: str) -> Iterator[str]:
    """Serve `storage` on `host` at a free port while the block runs; yields grpc://HOST:PORT."""
    port = _free_port(host)
    with warnings.catch_warnings():  # experimental since Optuna 4.2
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        server = make_server(optuna.storages.get_storage(storage.backend), host, port)
    server.start()
    try:
        yield f"grpc://{host}:{port}"
    finally:
        server.stop(grace=None)

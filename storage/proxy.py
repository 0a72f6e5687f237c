"""Optuna's gRPC storage proxy: one process owns the database, workers reach it over gRPC.

A SQLite file then has a single writer however many workers a search runs, and workers on
other machines can use it too. `open_storage("grpc://HOST:PORT")` is the client side.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import grpc
import optuna

# Optuna's public run_grpc_proxy_server blocks until the process ends; the driver serves only
# while its trials run, so it builds and stops the server that function would build itself
# (optuna.storages._grpc.server.make_server), on a port of its own
from optuna.storages._grpc.auto_generated.api_pb2_grpc import add_StorageServiceServicer_to_server
from optuna.storages._grpc.servicer import OptunaStorageProxyService

from storage.study_storage import Storage

__all__ = ["serve_proxy"]


@contextmanager
def serve_proxy(storage: Storage, host: str) -> Iterator[str]:
    """Serve `storage` on `host` while the block runs, at a port the system picks and no other
    server may share (gRPC lets servers share a port by default, and a second driver's workers
    would then reach either study's database); yields grpc://HOST:PORT."""
    server = grpc.server(ThreadPoolExecutor(max_workers=10), options=[("grpc.so_reuseport", 0)])
    service = OptunaStorageProxyService(optuna.storages.get_storage(storage.backend))
    add_StorageServiceServicer_to_server(service, server)
    port = server.add_insecure_port(f"{host}:0")
    server.start()
    try:
        yield f"grpc://{host}:{port}"
    finally:
        server.stop(grace=None)

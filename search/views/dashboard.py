"""`search dashboard`: optuna-dashboard served over the study storage, on loopback by default."""

from __future__ import annotations

import ipaddress
import socketserver
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import optuna_dashboard

from errors import UserError
from search.console import console, log
from search.study import load_study
from storage import open_storage

__all__ = ["serve_dashboard"]


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    """A browser loads several things at once; a slow request must not hold up the others."""

    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per request would bury what matters


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_dashboard(storage_url: str | None, study: str | None, host: str, port: int) -> None:
    """Serve optuna-dashboard on host:port until interrupted."""
    storage = open_storage(storage_url, must_exist=True)
    path = "/dashboard"
    if study is not None:
        load_study(storage, study)  # fails naming the studies there
        path += f"/studies/{storage.backend.get_study_id_from_name(study)}"
    try:
        server = make_server(
            host, port, optuna_dashboard.wsgi(storage.backend), _ThreadingServer, _QuietHandler
        )
    except OSError as err:
        raise UserError(f"cannot serve on {host}:{port}: {err.strerror}") from None
    if not _is_loopback(host):
        console.print(
            f"[bold red]WARNING: the dashboard listens on {host}, beyond this machine. It has no "
            "login and its API can change and delete studies: bind to 127.0.0.1 and use an SSH "
            "tunnel, unless this network is yours alone.[/]"
        )
    log(f"storage: {storage.description}")
    log(f"dashboard: http://{host}:{server.server_port}{path}  (Ctrl-C stops it)")
    try:
        server.serve_forever()
    finally:
        server.server_close()

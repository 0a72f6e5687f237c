"""`search dashboard`: optuna-dashboard over the study storage, and the note it shows per study."""

from __future__ import annotations

import ipaddress
import socketserver
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import optuna
import optuna_dashboard

from search.progress import console, log
from storage import describe_storage, mask, open_storage
from trainers import UserError

__all__ = ["mask_command", "serve_dashboard", "study_note"]


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    """A browser loads several things at once; a slow request must not hold up the others."""

    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per request would bury what matters


def mask_command(argv: list[str]) -> list[str]:
    """The command line with any URL password replaced by ***."""
    masked = []
    for arg in argv:
        flag, sep, value = arg.rpartition("=") if arg.startswith("--") else ("", "", arg)
        masked.append(f"{flag}{sep}{mask(value)}" if "://" in value else arg)
    return masked


def study_note(space: str, budget: int, fidelity: str, pruner: str, command: str) -> str:
    """The Markdown note the dashboard shows on the study's page."""
    return "\n".join(
        [
            "## Budget-constrained ResNet search on CIFAR-10",
            "",
            "- **objective**: `val_accuracy`, maximized (validation accuracy, held-out images)",
            f"- **space**: `{space}`",
            f"- **budget**: {budget:,} trainable parameters; over-budget configs are PRUNED "
            "before training, with `pruned_reason` starting `budget:`",
            f"- **fidelity**: {fidelity}; pruner `{pruner}` (its prunes say `pruner:`)",
            f"- **started with**: `{command}`",
            "",
            "Each trial's user attributes hold `n_params`, its full `config` and its metrics.",
        ]
    )


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
        names = optuna.get_all_study_names(storage)
        if study not in names:
            known = ", ".join(sorted(names)) or "none yet"
            raise UserError(f"no study {study!r} in the storage; studies there: {known}")
        path += f"/studies/{storage.get_study_id_from_name(study)}"
    try:
        server = make_server(
            host, port, optuna_dashboard.wsgi(storage), _ThreadingServer, _QuietHandler
        )
    except OSError as err:
        raise UserError(f"cannot serve on {host}:{port}: {err.strerror}") from None
    if not _is_loopback(host):
        console.print(
            f"[bold red]WARNING: the dashboard listens on {host}, beyond this machine. It has no "
            "login and its API can change and delete studies: bind to 127.0.0.1 and use an SSH "
            "tunnel, unless this network is yours alone.[/]"
        )
    log(f"storage: {describe_storage(getattr(storage, 'url', storage_url or ''))}")
    log(f"dashboard: http://{host}:{server.server_port}{path}  (Ctrl-C stops it)")
    try:
        server.serve_forever()
    finally:
        server.server_close()

"""`search dashboard`: optuna-dashboard served over the study storage, on loopback by default."""

from __future__ import annotations

import ipaddress
import json
import re
import socketserver
import warnings
from collections.abc import Callable, Iterable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import optuna_dashboard

from errors import UserError
from search.console import console, log
from search.study import BUDGET, load_study, made_by_search
from search.views.outcomes import outcomes_figure
from storage import Storage, open_storage

__all__ = ["serve_dashboard", "with_outcomes"]

STUDY_API = re.compile(r"/api/studies/(\d+)")  # a study's detail, which its pages poll
# optuna-dashboard 0.21 dropped its Trials (Table) page but kept the route, which renders nothing
TRIAL_TABLE = re.compile(r"(/dashboard/studies/\d+)/trialTable/?")
OUTCOMES_ID = "trial-outcomes"


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


def _study_with_outcomes(storage: Storage, study_id: int, body: bytes) -> bytes:
    """The study detail with the trials-by-outcome figure added, for a study `search run`
    made (it stores its space and an integer budget); any other study's detail as it is."""
    attrs = storage.backend.get_study_user_attrs(study_id)
    budget = attrs.get(BUDGET)
    if not made_by_search(attrs) or not isinstance(budget, int):
        return body
    trials = storage.backend.get_all_trials(study_id, deepcopy=False)
    figure = json.dumps(outcomes_figure(trials, budget))
    detail = json.loads(body)
    detail["plotly_graph_objects"].append({"id": OUTCOMES_ID, "graph_object": figure})
    return json.dumps(detail).encode()


def with_outcomes(app: Callable, storage: Storage) -> Callable:
    """optuna-dashboard's WSGI app, where a study's first page also shows each trial's outcome
    (`search.views.outcomes`) and the dead Trial Table page leads to the trial list."""

    def serve(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if table := TRIAL_TABLE.fullmatch(path):
            start_response("302 Found", [("Location", f"{table[1]}/trials")])
            return [b""]
        study = STUDY_API.fullmatch(path)
        if study is None or environ.get("REQUEST_METHOD") != "GET":
            return app(environ, start_response)
        answer: list = []
        result = app(environ, lambda status, headers, *_: answer.extend([status, headers]))
        try:
            body = b"".join(result)
        finally:
            getattr(result, "close", lambda: None)()  # as a WSGI server would
        status, headers = answer
        if status.startswith("200"):
            body = _study_with_outcomes(storage, int(study[1]), body)
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        start_response(status, [*headers, ("Content-Length", str(len(body)))])
        return [body]

    return serve


def serve_dashboard(storage_url: str | None, study: str | None, host: str, port: int) -> None:
    """Serve optuna-dashboard on host:port until interrupted."""
    storage = open_storage(storage_url, must_exist=True)
    path = "/dashboard"
    if study is not None:
        load_study(storage, study)  # fails naming the studies there
        path += f"/studies/{storage.backend.get_study_id_from_name(study)}"
    # Optuna's importance evaluator, behind the importance plot, warns on stderr at every poll
    # while a study is small (a parameter seen in one trial, all trials in one quantile)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"optuna\.importance")
    app = with_outcomes(optuna_dashboard.wsgi(storage.backend), storage)
    try:
        server = make_server(host, port, app, _ThreadingServer, _QuietHandler)
    except OSError as err:
        raise UserError(f"cannot serve on {host}:{port}: {err.strerror}; allowed: a free --port "
                        "on an IPv4 address or host name of this machine (127.0.0.1 by "
                        "default)") from None  # fmt: skip
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

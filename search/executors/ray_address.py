"""Which Ray cluster a run joins, checked before `ray.init` is given it.

Where no Ray head answers at the address `ray.init` goes to, it retries for minutes saying only
Ray's own warnings. That happens with a typo'd port, a port of another server (it accepts the
connection) and, with no address at all, a stale record of the last `ray start` (Ray joins the
cluster it names, even after that cluster died). So the address is resolved as Ray resolves it
and asked the standard gRPC health check, which a Ray head (its GCS) answers in milliseconds,
over a channel made as Ray makes its own (TLS, token authentication, no HTTP proxy).
"""

from __future__ import annotations

import os

import grpc
from ray._common.utils import get_ray_address_file
from ray._private.authentication.authentication_token_setup import (
    maybe_enable_token_auth_if_token_available,
)
from ray._private.grpc_utils import init_grpc_channel
from ray._private.ray_constants import GLOBAL_GRPC_OPTIONS
from ray._private.services import canonicalize_bootstrap_address

from errors import UserError
from search.console import log

__all__ = ["CONNECT_TIMEOUT_S", "ray_target", "unanswered"]

CONNECT_TIMEOUT_S = 10  # for a Ray head to answer
CLIENT_PORT = "10001 unless `ray start --ray-client-server-port` chose another"
HEALTH_CHECK = "/grpc.health.v1.Health/Check"
CLUSTER_ID = "/ray.rpc.NodeInfoGcsService/GetClusterId"  # token-authenticated where asked
TOKEN = (
    "its Ray head asks for an authentication token and this run sends none; set "
    "RAY_AUTH_MODE=token, with the head's token in ~/.ray/auth_token or $RAY_AUTH_TOKEN"
)
SERVING = b"\x08\x01"  # a grpc.health.v1.HealthCheckResponse saying SERVING, as sent
ALLOWED = ("allowed: HOST:PORT of a running Ray head (`ray start --head` prints it), "
           "ray://HOST:PORT of its Ray Client server, or auto")  # fmt: skip


def _host_port(address: str) -> str | None:
    """HOST:PORT of `address` ([ray://]HOST:PORT), or None where it is not that."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    return f"{host}:{port}" if host and port.isdigit() else None


def unanswered(address: str) -> str | None:
    """Why no Ray head answers at `address` ([ray://]HOST:PORT), or None where one does."""
    client = address.startswith("ray://")
    host_port = _host_port(address)
    if host_port is None:
        return "not HOST:PORT"
    with init_grpc_channel(host_port, GLOBAL_GRPC_OPTIONS) as channel:
        try:
            reply = channel.unary_unary(HEALTH_CHECK)(b"", timeout=CONNECT_TIMEOUT_S)
        except grpc.RpcError as err:
            if client and err.code() == grpc.StatusCode.UNIMPLEMENTED:
                return None  # Ray Client's server is gRPC but has no health check
            why = (err.details() or err.code().name).rsplit(": ", 1)[-1].rstrip("]")
            return f"no Ray head answers there: {why}"
        if client:  # a Ray head's own port: Ray Client would wait 30 s on it, then fail
            return (
                f"{host_port} is a Ray head's own port, not its Ray Client server's ({CLIENT_PORT})"
            )
        if reply != SERVING:
            return "its Ray head is not serving"
        try:  # the health check asks for no token; Ray's own calls do where the head wants one
            channel.unary_unary(CLUSTER_ID)(b"", timeout=CONNECT_TIMEOUT_S)
        except grpc.RpcError as err:
            if err.code() == grpc.StatusCode.UNAUTHENTICATED:
                return TOKEN  # else Ray retries for 20 s, then fails saying nothing of it
    return None


def _resolved(address: str | None, given: str) -> str | None:
    """HOST:PORT of the cluster `ray.init(address)` joins, resolved as it does (RAY_ADDRESS,
    Ray's record, localhost as this node's address); None where it starts one here."""
    try:
        return canonicalize_bootstrap_address(address)
    except ConnectionError:  # auto, and neither a record nor a Ray process here
        raise UserError(f"--ray-address auto: no Ray cluster runs here; {ALLOWED}") from None
    except ValueError:
        raise UserError(f"{given}: not HOST:PORT; {ALLOWED}") from None


def ray_target(address: str | None) -> str | None:
    """What to pass `ray.init` for `--ray-address address`: None starts Ray here unless Ray's
    record names a running cluster (as `ray.init` does), "auto" joins the running one.

    UserError where the cluster asked for (the address, RAY_ADDRESS, auto's) does not answer;
    with no address, a record of a cluster that no longer answers is passed over ("local").
    """
    if address == "local":
        return address
    env = os.environ.get("RAY_ADDRESS") if address in (None, "auto") else None
    given = f"RAY_ADDRESS={env}" if env else f"--ray-address {address}"
    wanted = env or address
    if wanted not in (None, "auto", "local") and _host_port(wanted) is None:  # before Ray reads it
        raise UserError(f"{given}: not HOST:PORT; {ALLOWED}")
    if (wanted or "").startswith("ray://"):  # Ray Client: ray.init takes it as it is
        found: str | None = wanted
    else:
        found = _resolved(address, given)
    if found is None:
        return None
    if address in (None, "auto"):  # as ray.init does: a token here is sent to the one found
        maybe_enable_token_auth_if_token_available(warn_if_disabled=False)
    why = unanswered(found)
    if why is None:
        return address
    if env or address not in (None, "auto"):
        raise UserError(f"{given}: {why}; {ALLOWED}")
    record = f"Ray's record of its last cluster, {get_ray_address_file(None)}, names {found}"
    if address == "auto":
        raise UserError(f"--ray-address auto: {record}; {why}; {ALLOWED}")
    log(f"{record}; {why}; so Ray starts here")
    return "local"

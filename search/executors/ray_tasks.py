"""Trials on Ray: each trial is a Ray task holding its GPUs (or CPUs); Optuna decides.

Ray schedules: a task starts when a worker has the resources it asks for, and Ray gives it its
own GPUs (CUDA_VISIBLE_DEVICES). Optuna decides: the driver samples, rejects over-budget
configs and tells results; the task reports each epoch to the study's storage and asks the
study's pruner, which sees every worker's trials there.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import optuna
import ray
import torch
from optuna.pruners import BasePruner
from ray.exceptions import NodeDiedError, RayActorError, RayError, WorkerCrashedError

from errors import UserError
from search.executors.ray_address import ray_target, unanswered
from search.executors.resources import Resources, live_nodes
from search.training import Outcome, fault_reason, train_trial
from search.trial import GPU_IDS, GPUS, HOST, NODE, PID, trial_id
from storage import Storage, open_storage
from storage.proxy import serve_proxy
from trainers import Metrics, TrainConfig

__all__ = ["ClusterLost", "RayExecutor", "ray_session", "storage_for_workers"]


class ClusterLost(UserError):
    """The Ray cluster stopped answering (its head died): nothing more can train on it."""


@contextmanager
def ray_session(address: str | None) -> Iterator[None]:
    """Ray for the block: the cluster at `address`, else one started here and shut down after.

    A Ray already initialized in this process (a caller's) is used as it is and left running.
    """
    if ray.is_initialized():
        yield
        return
    try:
        ray.init(
            address=ray_target(address), include_dashboard=False, logging_level=logging.WARNING,
            log_to_driver=True,
        )  # fmt: skip
    except (ConnectionError, ValueError) as err:
        raise UserError(f"--ray-address {address}: {err}") from None
    try:
        yield
    finally:
        ray.shutdown()


@contextmanager
def storage_for_workers(storage: Storage) -> Iterator[str]:
    """The address workers open the storage at: its URL, or for SQLite (one writer) Optuna's
    gRPC proxy, served from here on this Ray node's address while the block runs."""
    if not storage.needs_proxy:
        yield storage.url
        return
    with serve_proxy(storage, ray.util.get_node_ip_address()) as address:
        yield address


@functools.lru_cache(maxsize=4)
def _worker_study(address: str, name: str) -> optuna.Study:
    """The study as a worker process sees it, opened once per process."""
    return optuna.load_study(study_name=name, storage=open_storage(address).backend)


def _train_on_worker(
    address: str,
    study_name: str,
    pruner: BasePruner,
    storage_trial_id: int,
    config: dict[str, Any],
    checkpoint: str,
    train_fn: Callable[..., Metrics],
    train_kwargs: dict[str, Any],
) -> Outcome:
    """Body of a Ray task: one trial, trained where Ray put it."""
    study = _worker_study(address, study_name)
    study.pruner = pruner
    trial = optuna.trial.Trial(study, storage_trial_id)
    trial.set_user_attr(NODE, ray.get_runtime_context().get_node_id())
    trial.set_user_attr(HOST, socket.gethostname())
    trial.set_user_attr(PID, os.getpid())
    trial.set_user_attr(GPU_IDS, [str(i) for i in ray.get_gpu_ids()])
    trial.set_user_attr(GPUS, ray.get_runtime_context().get_assigned_resources().get("GPU", 0.0))
    parsed = TrainConfig.from_dict(config)
    outcome = train_trial(trial, parsed, train_fn, train_kwargs, checkpoint=Path(checkpoint))
    if torch.cuda.is_initialized():  # the GPU's other trials may use what this one left cached
        torch.cuda.empty_cache()
    return outcome


class RayExecutor:
    """Runs up to `resources.workers` trials at once as Ray tasks."""

    def __init__(
        self,
        resources: Resources,
        storage_address: str,
        study_name: str,
        pruner: BasePruner,
        train_fn: Callable[..., Metrics],
        train_kwargs: dict[str, Any],
    ) -> None:
        self.resources = resources
        on_gpus = resources.device.type == "cuda" and train_kwargs.get("device") != "cpu"
        # a process that used CUDA keeps the GPU it saw first (CUDA_VISIBLE_DEVICES is read
        # once): where a node has several, each GPU trial gets a new process (Ray's default for
        # tasks declared with GPUs, not for GPUs given through .options); a new process costs
        # seconds (bench/ray_makespan.py --fresh), so one-GPU nodes reuse theirs
        fresh = on_gpus and max(gpus for gpus, _ in live_nodes()) > 1
        self.remote = ray.remote(max_calls=1 if fresh else 0)(_train_on_worker)
        self.options = {
            "num_cpus": resources.cpus_per_trial,
            "max_retries": 0,  # a failed trial is told FAIL; the search goes on with new ones
            "runtime_env": {"env_vars": {"GRPC_VERBOSITY": "ERROR"}},  # no chatter at shutdown
        }
        self.args = (storage_address, study_name, pruner)
        self.train_fn, self.train_kwargs = train_fn, train_kwargs
        self.tasks: dict[ray.ObjectRef, optuna.Trial] = {}
        self.gpus_held: dict[ray.ObjectRef, float] = {}
        self.held_back: list[tuple[optuna.Trial, Outcome]] = []  # ended, told by the next wait

    def has_room(self) -> bool:
        """Room for another trial: fewer than `workers` running (as many as the nodes hold at
        once: search.executors.resources) and, where each trial has its own share, known once
        it is sampled, GPUs left in all. Such a trial whose share does not fit yet waits in
        Ray's queue: on one GPU none starts past it; on several, smaller ones may take GPUs it
        waits for. The cluster is read when the run starts."""
        if len(self.tasks) >= self.resources.workers:
            return False
        return self.resources.gpus_per_trial is not None or (
            sum(self.gpus_held.values()) < self.resources.gpus - 1e-9
        )

    def submit(self, trial: optuna.Trial, config: TrainConfig, checkpoint: Path) -> None:
        gpus = self.resources.gpus_for(config)
        ref = self.remote.options(num_gpus=gpus, **self.options).remote(
            *self.args, trial_id(trial), config.to_dict(), str(checkpoint), self.train_fn,
            self.train_kwargs,
        )  # fmt: skip
        self.tasks[ref], self.gpus_held[ref] = trial, gpus

    def running(self) -> list[optuna.Trial]:
        return [*self.tasks.values(), *(trial for trial, _ in self.held_back)]

    def wait(self, timeout_s: float) -> list[tuple[optuna.Trial, Outcome]]:
        ended, self.held_back = self.held_back, []
        ready = self._ready(0 if ended else timeout_s) if self.tasks else []
        fresh: list[tuple[optuna.Trial, Outcome]] = []  # this wait's, not those held back
        for ref in ready:
            trial, _ = self.tasks.pop(ref), self.gpus_held.pop(ref)
            try:
                fresh.append((trial, self._outcome(ref)))
            except UserError:  # bad input a worker found: the loop stops the search, and the
                self.held_back = ended + fresh  # trials that ended beside it come next wait
                raise
        ended += fresh
        if any(outcome.retry for _, outcome in fresh):  # one died: its worker, its node, or
            self._check_cluster(ended)  # the whole cluster?
        return ended

    def _check_cluster(self, ended: list[tuple[optuna.Trial, Outcome]]) -> None:
        """ClusterLost where the cluster's head no longer answers: Ray would exit this process
        a minute later, leaving its trials RUNNING. Every trial in hand ends as a died one, to
        be queued again by the loop from the next wait, and no trial starts on the dead one.
        Not through Ray Client (ray://), whose cluster's own ports need not be reachable here."""
        if ray.util.client.ray.is_connected():
            return
        why = unanswered(ray.get_runtime_context().gcs_address)
        if why is None:
            return
        lost = Outcome(optuna.trial.TrialState.FAIL, reason="Ray cluster lost", retry=True)
        self.held_back = ended + [(trial, lost) for trial in self.tasks.values()]
        self.tasks.clear()
        self.gpus_held.clear()
        raise ClusterLost(
            f"the Ray cluster stopped answering ({why}); its trials are queued again, to "
            "resume when the same command is run with a cluster"
        )

    def _ready(self, timeout_s: float) -> list[ray.ObjectRef]:
        """The tasks that have ended: the first within `timeout_s`, and any others by then."""
        ready, rest = ray.wait(list(self.tasks), num_returns=1, timeout=timeout_s)
        if ready and rest:
            ready += ray.wait(rest, num_returns=len(rest), timeout=0)[0]
        return ready

    @staticmethod
    def _outcome(ref: ray.ObjectRef) -> Outcome:
        try:
            return ray.get(ref)
        except UserError as err:  # bad input a worker found (its data directory, say): stop
            raise getattr(err, "cause", err) from None  # its own line, not Ray's traceback
        except (WorkerCrashedError, NodeDiedError, RayActorError) as err:  # died: run it again
            reason = f"worker died ({type(err).__name__})"  # the loop says if it is retried
            return Outcome(optuna.trial.TrialState.FAIL, reason=reason, retry=True)
        except RayError as err:  # the task raised: a fault of the trial a retry would meet again
            cause = getattr(err, "cause", None) or err  # RayTaskError: the task's exception
            return Outcome(optuna.trial.TrialState.FAIL, reason=f"worker: {fault_reason(cause)}")

    def cancel(self) -> None:
        for ref in self.tasks:
            ray.cancel(ref, force=True)
        self.tasks.clear()
        self.gpus_held.clear()

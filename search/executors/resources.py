"""What each Ray trial holds and how many run at once, planned from the cluster's live nodes.

Ray puts a task on one node, and a fraction of a GPU on one GPU of it: a node of 2 GPUs holds
4 trials of 0.4 GPU, not 5. So trials at once are counted node by node (`slots`), and the
driver starts no more than that, so that none waits in Ray's queue while the study counts it
running. The cluster is read once, when the run starts.
"""

from __future__ import annotations

from dataclasses import dataclass

import ray
import torch

from errors import UserError
from search.executors import sharing
from trainers import TrainConfig

__all__ = ["Resources", "live_nodes", "plan_resources", "slots"]

FINEST_GPU = 0.0001  # Ray's resolution of a fraction of a GPU
EPS = 1e-9


@dataclass(frozen=True)
class Resources:
    """What each trial asks Ray for, and how many run at once."""

    workers: int  # trials at once, at most
    gpus_per_trial: float | None  # fractions let several trials share a GPU; None: each
    # trial's own share, 1, 1/2 or 1/4 by its model and batch (search.executors.sharing)
    cpus_per_trial: float
    gpus: float = 0.0  # the cluster's GPUs: trials with their own shares start while these last

    @property
    def device(self) -> torch.device:
        """The kind of device the trials train on."""
        return torch.device("cpu" if self.gpus_per_trial == 0 else "cuda")

    def gpus_for(self, config: TrainConfig) -> float:
        """The GPUs a trial of `config` holds."""
        if self.gpus_per_trial is None:
            return 1 / sharing.trials_per_gpu(config)
        return self.gpus_per_trial

    def describe(self) -> str:
        if self.gpus_per_trial is None:
            at_once = f"up to {self.workers} at once"
            gpus = (f"1, 1/2 or 1/{sharing.MOST_PER_GPU} GPU by its model and batch "
                    "(--trials-per-gpu fixes it)")  # fmt: skip
        else:
            at_once, gpus = f"{self.workers} at once", f"{self.gpus_per_trial:g} GPU"
        return f"Ray, {at_once}, each with {gpus} and {self.cpus_per_trial:g} CPU"


def live_nodes() -> list[tuple[float, float]]:
    """(GPUs, CPUs) of every live node of the Ray cluster."""
    nodes = [node.get("Resources", {}) for node in ray.nodes() if node.get("Alive")]
    return [(node.get("GPU", 0.0), node.get("CPU", 0.0)) for node in nodes]


def slots(nodes: list[tuple[float, float]], gpus: float, cpus: float) -> int:
    """Trials of `gpus` GPUs and `cpus` CPUs the nodes run at once."""
    total = 0
    for node_gpus, node_cpus in nodes:
        by_cpus = int(node_cpus / cpus + EPS)
        if gpus == 0:
            by_gpus = by_cpus
        elif gpus <= 1:  # a fraction of one GPU, never spread over two
            by_gpus = int(node_gpus + EPS) * int(1 / gpus + EPS)
        else:
            by_gpus = int(node_gpus / gpus + EPS)
        total += min(by_cpus, by_gpus)
    return total


def _check_share(gpus_per_trial: float, nodes: list[tuple[float, float]]) -> None:
    """UserError unless Ray can give a task `gpus_per_trial` GPUs on some node (negative and NaN
    shares are neither a fraction nor a whole number)."""
    most = max((gpus for gpus, _ in nodes), default=0.0)
    whole = gpus_per_trial > 1 and float(gpus_per_trial).is_integer()
    fraction = FINEST_GPU <= gpus_per_trial <= 1
    if gpus_per_trial != 0 and not ((fraction or whole) and gpus_per_trial <= most):
        raise UserError(
            f"--gpus-per-trial {gpus_per_trial:g}; allowed: 0, a fraction of a GPU from "
            f"{FINEST_GPU:g}, or a whole number of GPUs up to {most:g} (the most one node has)"
        )


def plan_resources(
    workers: int | None,
    gpus_per_trial: float | None,
    cpus_per_trial: float | None,
    trials_per_gpu: int | None = None,
    device: str | None = None,
) -> Resources:
    """Fill in what was not given from the cluster: with GPUs (unless `device` is "cpu"),
    each trial's share from its model and batch (sharing.py), a CPU each, as many at once as
    the nodes hold; else CPUs shared out. Trials at once never exceed what the nodes hold."""
    nodes = live_nodes()
    gpus = sum(node_gpus for node_gpus, _ in nodes)
    if trials_per_gpu is not None:
        if not gpus:
            raise UserError(f"--trials-per-gpu {trials_per_gpu}; the cluster has no GPUs")
        gpus_per_trial = 1 / trials_per_gpu
    elif gpus_per_trial is None and (device == "cpu" or not gpus):
        gpus_per_trial = 0.0
    if device == "cuda" and gpus_per_trial == 0:  # each worker would find no GPU it may use
        why = "--gpus-per-trial 0" if gpus else "the cluster has no GPUs"
        raise UserError(f"--device cuda; {why}; allowed: --device cpu, or trials that hold GPUs")
    if gpus_per_trial is not None:
        _check_share(gpus_per_trial, nodes)
    most_cpus = max((cpus for _, cpus in nodes), default=0.0)
    if cpus_per_trial is None:
        share = most_cpus // (workers or 1)
        cpus_per_trial = 1.0 if gpus_per_trial != 0 else max(1.0, float(share))
    if not 0 < cpus_per_trial <= most_cpus:
        raise UserError(f"--cpus-per-trial {cpus_per_trial:g}; allowed: more than 0, at most "
                        f"{most_cpus:g} (the most CPUs one node has)")  # fmt: skip
    room = slots(nodes, 1.0 if gpus_per_trial is None else gpus_per_trial, cpus_per_trial)
    if not room:  # the most GPUs and the most CPUs are on different nodes
        asked = "a GPU" if gpus_per_trial is None else f"{gpus_per_trial:g} GPU"
        raise UserError(f"no node of the Ray cluster has {asked} and {cpus_per_trial:g} CPU "
                        f"for a trial (GPUs, CPUs per node: {nodes}); allowed: fewer")  # fmt: skip
    if gpus_per_trial is None:
        room = slots(nodes, 1 / sharing.MOST_PER_GPU, cpus_per_trial)
    if workers is None:
        workers = 1 if gpus_per_trial == 0 else room
    return Resources(min(workers, room), gpus_per_trial, cpus_per_trial, gpus)

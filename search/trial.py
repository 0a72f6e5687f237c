"""A trial's record: the names under which the search stores what a trial is and did, and what
they say about it. Every part that reads or writes a trial (the driver loop, the progress lines,
status, report, export) goes through this module.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterable
from enum import StrEnum

import optuna
from optuna.trial import FrozenTrial, TrialState

__all__ = [
    "BUDGET_CONSTRAINT",
    "CONFIG",
    "DESIGN",
    "DEVICE",
    "FAIL_REASON",
    "GPUS",
    "GPU_IDS",
    "HOST",
    "IMAGES_PER_S",
    "METRICS",
    "NODE",
    "N_PARAMS",
    "PID",
    "PRECISION",
    "PRUNED_REASON",
    "RESUMED_FROM_EPOCH",
    "RESUME_ERROR",
    "VAL_LOSS",
    "WALL_S",
    "TrialOutcome",
    "as_sampled",
    "frozen",
    "is_budget_rejected",
    "is_trained",
    "outcome",
    "rdb_of",
    "reason",
    "retried_from",
    "storage_of",
    "study_id_of",
    "trained_count",
    "trial_id",
]

# User attributes of a trial
CONFIG = "config"  # the full effective TrainConfig, as a dict; set when the trial is sampled
N_PARAMS = "n_params"  # its model's trainable parameters; set when the trial is sampled
PRUNED_REASON = "pruned_reason"  # "budget: ..." (rejected, never trained) or "pruner: ..."
FAIL_REASON = "fail_reason"  # "diverged: ...", "out of memory: ...", "interrupted", ...
DEVICE = "device"  # where it trains, e.g. "cuda:0 (NVIDIA H100 80GB HBM3)"
IMAGES_PER_S = "images_per_s"  # training speed, updated every epoch
VAL_LOSS = "val_loss"  # validation cross-entropy after its last epoch
WALL_S = "wall_s"  # seconds the whole training took (COMPLETE trials)
PRECISION = "precision"  # autocast dtype it trained in (COMPLETE trials)
RESUMED_FROM_EPOCH = "resumed_from_epoch"  # a retry: the epoch its checkpoint had reached
RESUME_ERROR = "resume_error"  # a retry whose checkpoint could not be resumed: why
NODE, HOST, PID, GPU_IDS = "node", "host", "pid", "gpu_ids"  # where a Ray task ran it
GPUS = "gpus"  # the GPUs (a fraction where trials share one) a Ray task held
DESIGN = "zoo"  # the published design (of spaces.ZOO) a warm-start trial is, by name
METRICS = (VAL_LOSS, IMAGES_PER_S, WALL_S, PRECISION)  # from trainers.Metrics, when COMPLETE
SAMPLED = (CONFIG, N_PARAMS, DESIGN)  # what a trial is, set before it trains: what a retry inherits

BUDGET_CONSTRAINT = "budget"  # the constraint n_params - budget, feasible when <= 0


def is_budget_rejected(trial: FrozenTrial) -> bool:
    """Whether the trial was pruned for being over budget, before any training."""
    return trial.constraints.get(BUDGET_CONSTRAINT, 0.0) > 0


def is_trained(trial: FrozenTrial) -> bool:
    """Finished training: COMPLETE, or PRUNED by the fidelity pruner (not by the budget)."""
    if trial.state == TrialState.COMPLETE:
        return True
    return trial.state == TrialState.PRUNED and not is_budget_rejected(trial)


class TrialOutcome(StrEnum):
    """What a trial came to, as status, report and the dashboard name it."""

    COMPLETE = "complete"
    PRUNED = "pruned by the pruner"  # trained for some epochs, then stopped
    REJECTED = "rejected for the budget"  # pruned before any training
    FAILED = "failed"
    RUNNING = "running"
    QUEUED = "queued"  # waiting: a published design, or a retry, not sampled yet


def outcome(trial: FrozenTrial) -> TrialOutcome:
    """What the trial came to: Optuna's state, with PRUNED split by why."""
    if trial.state == TrialState.PRUNED:
        return TrialOutcome.REJECTED if is_budget_rejected(trial) else TrialOutcome.PRUNED
    return {
        TrialState.COMPLETE: TrialOutcome.COMPLETE,
        TrialState.FAIL: TrialOutcome.FAILED,
        TrialState.WAITING: TrialOutcome.QUEUED,
    }.get(trial.state, TrialOutcome.RUNNING)


def trained_count(trials: Iterable[FrozenTrial]) -> int:
    return sum(is_trained(t) for t in trials)


def as_sampled(trial: FrozenTrial) -> FrozenTrial:
    """The trial with only the user attributes it had when sampled (SAMPLED): what a retry of
    it inherits, not how its own run went (its reason, speed, device, resumed epoch)."""
    sampled = copy.copy(trial)
    sampled.user_attrs = {k: v for k, v in trial.user_attrs.items() if k in SAMPLED}
    return sampled


def retried_from(trial: FrozenTrial) -> int | None:
    """The number of the failed trial this one runs again, if it is a retry."""
    with warnings.catch_warnings():  # experimental since Optuna 2.8
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RetryHeartbeatStaleTrialCallback.retried_trial_number(trial)


def reason(trial: FrozenTrial) -> str:
    """Why the trial is as it is, in a few words: why it was pruned or failed, or that it is
    a retry; "" for a plain trial."""
    if said := trial.user_attrs.get(PRUNED_REASON):
        return said
    if trial.state == TrialState.FAIL:  # no reason: failed by a driver that found it stale
        return trial.user_attrs.get(FAIL_REASON) or "no heartbeat: its process died"
    retried = retried_from(trial)
    if retried is None:
        return ""
    resumed = trial.user_attrs.get(RESUMED_FROM_EPOCH)
    return f"retry of #{retried}" + (f", resumed after epoch {resumed}" if resumed else "")


# Optuna keeps a trial's id and its study's storage and id private (`Trial._trial_id`,
# `FrozenTrial._trial_id`, `Study._storage`, `Study._study_id`), yet heartbeats are recorded
# per trial id, a Ray worker rebuilds its trial from the id (`optuna.trial.Trial(study, id)`),
# the driver reads a trial's current record from the storage, the search for trials that never
# beat reads Optuna's heartbeat table through the RDB storage under its cache, and a draft
# (search.draft) is written as a template trial of the study's id, and a queued trial is claimed
# in the search's order (search.claim). These functions, search.draft and search.claim are the
# only places that reach in.
def trial_id(trial: optuna.Trial | FrozenTrial) -> int:
    return trial._trial_id


def storage_of(study: optuna.Study) -> optuna.storages.BaseStorage:
    return study._storage


def study_id_of(study: optuna.Study) -> int:
    return study._study_id


def rdb_of(study: optuna.Study) -> optuna.storages.RDBStorage | None:
    """The study's RDB storage (Optuna wraps it in a private cache), if it has one."""
    storage = getattr(study._storage, "_backend", study._storage)
    return storage if isinstance(storage, optuna.storages.RDBStorage) else None


def frozen(trial: optuna.Trial) -> FrozenTrial:
    """The trial's record as the storage holds it now."""
    return trial.storage.get_trial(trial_id(trial))

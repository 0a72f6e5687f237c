"""Running a trial again when its process died: how often, and what its record then says.

A trial whose process died (its worker, or its driver: `search.heartbeat`) did nothing wrong,
so it is queued again with Optuna's retry callback, the params and attributes of its original
with it, to resume from its checkpoint; after `MAX_RETRIES` of a series it is left FAIL.
"""

from __future__ import annotations

import warnings

import optuna
from optuna.trial import FrozenTrial

__all__ = ["MAX_RETRIES", "NOT_RETRIED", "RETRY", "can_retry", "retry"]

MAX_RETRIES = 3  # times a trial whose process died is queued again
NOT_RETRIED = f"not queued again: its original was retried {MAX_RETRIES} times"  # its record
with warnings.catch_warnings():  # experimental since Optuna 2.8
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
    RETRY = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES)


def can_retry(failed: FrozenTrial) -> bool:
    """Whether `retry` would queue the trial again: its original was retried fewer than
    `MAX_RETRIES` times."""
    with warnings.catch_warnings():  # experimental since Optuna 3.0
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return len(RETRY.retry_history(failed)) < MAX_RETRIES


def retry(study: optuna.Study, failed: FrozenTrial) -> bool:
    """Queue a failed trial again (`RETRY`, as for a stale heartbeat), with its params and its
    user and system attributes; False, and nothing queued, unless `can_retry`."""
    if not can_retry(failed):
        return False
    RETRY(study, failed)
    return True

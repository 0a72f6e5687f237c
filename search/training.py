"""Training a sampled trial wherever it is scheduled (in the driver's process or a Ray worker),
on an `optuna.Trial` of the study. Only this module turns the trainer's `report(epoch, value)`
into `trial.report` and pruning.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import torch
from optuna.trial import TrialState

from errors import ConfigError, DivergedError, UserError
from search.interrupts import held
from search.trial import (
    DEVICE,
    FAIL_REASON,
    IMAGES_PER_S,
    METRICS,
    PRUNED_REASON,
    RESUME_ERROR,
    RESUMED_FROM_EPOCH,
    VAL_LOSS,
)
from trainers import Metrics, Report, TrainConfig, autocast_dtype, describe_device, resolve_device
from trainers.checkpoint import check as check_checkpoint
from trainers.device import numerics

__all__ = ["OnEpoch", "Outcome", "fault_reason", "train_trial"]

OnEpoch = Callable[[optuna.Trial], None]  # hears that a trial started or finished an epoch


@dataclass(frozen=True)
class Outcome:
    """How a trial's training ended, for the driver to tell the study."""

    state: TrialState  # COMPLETE, PRUNED or FAIL
    value: float | None = None  # validation accuracy, when COMPLETE
    reason: str = ""  # why, when PRUNED or FAIL
    retry: bool = False  # FAIL for a reason outside the trial (its process died): run it again


def train_trial(
    trial: optuna.Trial,
    config: TrainConfig,
    train_fn: Callable[..., Metrics],
    train_kwargs: dict[str, Any],
    checkpoint: Path | None = None,
    on_epoch: OnEpoch | None = None,
) -> Outcome:
    """Train a sampled trial, reporting each epoch to it; pruning, divergence and running out of
    memory end it. With `checkpoint`, every epoch is saved there and a retried trial resumes
    from it; the file is removed once the trial has ended. `on_epoch` hears of the trial when
    it starts and after every epoch."""
    with held():  # storage writes: an interrupt waits for them (search.interrupts)
        device = resolve_device(train_kwargs.get("device"))
        trial.set_user_attr(DEVICE, describe_device(device))
        if checkpoint is not None and checkpoint.exists():
            dtype = autocast_dtype(device, train_kwargs.get("precision", "auto"))
            try:
                epoch = check_checkpoint(checkpoint, config, numerics(device, dtype))
                trial.set_user_attr(RESUMED_FROM_EPOCH, epoch)
            except UserError as err:  # cut short by the crash that killed it, or written in
                # other numerics (a retry on another kind of GPU, another --precision): start over
                trial.set_user_attr(RESUME_ERROR, str(err))
                checkpoint.unlink()
        if on_epoch:
            on_epoch(trial)
    try:
        metrics = train_fn(config, _reporter(trial, config.epochs, on_epoch),
                           checkpoint=checkpoint, **train_kwargs)  # fmt: skip
    except optuna.TrialPruned as pruned:
        return _ended(checkpoint, Outcome(TrialState.PRUNED, reason=str(pruned)))
    except DivergedError as err:
        return _failed(trial, checkpoint, f"diverged: {err}")
    except ConfigError as err:  # found only where it trains (too large for its device)
        return _failed(trial, checkpoint, str(err))
    except torch.OutOfMemoryError as err:  # the memory is freed below, once the traceback,
        out_of_memory = f"out of memory: {str(err).splitlines()[0]}"  # which holds it, is gone
    else:
        for key in METRICS:
            trial.set_user_attr(key, getattr(metrics, key))
        return _ended(checkpoint, Outcome(TrialState.COMPLETE, metrics.val_accuracy))
    if torch.cuda.is_available():  # so that this worker, or another process, trains the next
        gc.collect()
        torch.cuda.empty_cache()
    return _failed(trial, checkpoint, out_of_memory)


def fault_reason(err: BaseException) -> str:
    """A trial's unexpected exception as its fail_reason: its type and first line."""
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0] if lines else ''}"[:500]


def _ended(checkpoint: Path | None, outcome: Outcome) -> Outcome:
    if checkpoint is not None:
        checkpoint.unlink(missing_ok=True)  # nothing later needs it: disk use stays bounded
    return outcome


def _failed(trial: optuna.Trial, checkpoint: Path | None, reason: str) -> Outcome:
    trial.set_user_attr(FAIL_REASON, reason)
    return _ended(checkpoint, Outcome(TrialState.FAIL, reason=reason))


def _reporter(trial: optuna.Trial, epochs: int, on_epoch: OnEpoch | None) -> Report:
    def report(epoch: int, value: float, /, **metrics: float) -> None:
        with held():  # storage writes: an interrupt waits for them (search.interrupts)
            trial.report(value, epoch)
            trial.set_user_attr(IMAGES_PER_S, metrics.get("images_per_s", math.nan))  # live
            if on_epoch:
                on_epoch(trial)
            if epoch < epochs and trial.should_prune():  # a finished trial is never pruned
                trial.set_user_attr(VAL_LOSS, metrics.get("val_loss", math.nan))
                reason = f"pruner: validation accuracy {value:.4f} after epoch {epoch} of {epochs}"
                trial.set_user_attr(PRUNED_REASON, reason)
                raise optuna.TrialPruned(reason)

    return report

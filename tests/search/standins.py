"""Stand-in trainers for tests where the training itself is not what is tested.

They honour the trainer contract (`train(config, report) -> Metrics`, one report per epoch) and
give a score that depends on the config, so that samplers and pruners have something to learn.
"""

from __future__ import annotations

import json
import math
import os
import time
import uuid
from pathlib import Path

import optuna

from errors import DivergedError, UserError
from trainers import Metrics, TrainConfig, count_params


def score(config: TrainConfig) -> float:
    """Bigger models and a learning rate near 0.1 score higher, as they tend to on CIFAR-10."""
    n = count_params(config.model)
    return 0.3 + 0.08 * math.log10(n) - 0.1 * abs(math.log10(config.optim.lr) + 1.0)


def standin_train(config: TrainConfig, report=None, **_: object) -> Metrics:
    final = score(config)
    for epoch in range(1, config.epochs + 1):
        if report is not None:
            report(epoch, final * epoch / config.epochs, images_per_s=1000.0)
    n = count_params(config.model)
    return Metrics(final, 1.0 - final, config.epochs, 1000.0, 0.01, n, "cpu", "fp32")


class Recorder:
    """`standin_train` that keeps every config it is given, in order."""

    def __init__(self) -> None:
        self.configs: list[TrainConfig] = []

    def __call__(self, config: TrainConfig, report=None, **kwargs: object) -> Metrics:
        self.configs.append(config)
        return standin_train(config, report, **kwargs)


class KwargsLog:
    """`standin_train` that writes the data directory and CUDA-graph choice it was given to a
    JSON file per call in `log_dir` (Ray workers are other processes)."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir

    def __call__(self, config: TrainConfig, report=None, **kwargs: object) -> Metrics:
        heard = {key: kwargs.get(key) for key in ("data_dir", "graphs")}
        path = self.log_dir / f"{uuid.uuid4().hex}.json"
        path.write_text(json.dumps({k: v if v is None else str(v) for k, v in heard.items()}))
        return standin_train(config, report, **kwargs)


def diverging_train(config: TrainConfig, report=None, **_: object) -> Metrics:
    raise DivergedError("training loss is nan in epoch 1")


class Timed:
    """Takes `seconds_per_epoch` per epoch, as a real trainer would; with `log_dir`, writes
    when it ran, in which process and on which GPUs Ray gave it, one JSON file per call."""

    def __init__(self, seconds_per_epoch: float, log_dir: str | None = None) -> None:
        self.seconds_per_epoch, self.log_dir = seconds_per_epoch, log_dir

    def __call__(self, config: TrainConfig, report=None, **kwargs: object) -> Metrics:
        start = time.time()
        final = score(config)
        for epoch in range(1, config.epochs + 1):
            time.sleep(self.seconds_per_epoch)
            if report is not None:
                report(epoch, final * epoch / config.epochs, images_per_s=1000.0)
        if self.log_dir:
            record = {
                "pid": os.getpid(), "start": start, "end": time.time(),
                "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES", ""),
            }  # fmt: skip
            Path(self.log_dir, f"{uuid.uuid4().hex}.json").write_text(json.dumps(record))
        n = count_params(config.model)
        return Metrics(final, 1.0 - final, config.epochs, 1000.0, 0.01, n, "cpu", "fp32")


def missing_data(config: TrainConfig, report=None, **_: object) -> Metrics:
    raise UserError("--data-dir /data: no CIFAR-10 on this worker")


class OutOfMemoryOnce:
    """Runs out of GPU memory the first time any process calls it (a file marks it), as a
    too-large batch on a full GPU would; trains like `standin_train` afterwards."""

    def __init__(self, flag: Path) -> None:
        self.flag = flag

    def __call__(self, config: TrainConfig, report=None, **kwargs: object) -> Metrics:
        try:
            self.flag.touch(exist_ok=False)
        except FileExistsError:
            return standin_train(config, report, **kwargs)
        raise self.error()

    def error(self) -> Exception:
        import torch

        return torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


class BadInputOnce(OutOfMemoryOnce):
    """Meets bad input the first time any process calls it, as a worker without the data."""

    def error(self) -> Exception:
        return UserError("--data-dir /data: no CIFAR-10 on this worker")


class BadInputOnEveryWorker:
    """An executor of two workers that both meet the same bad input and end at once, as two
    Ray workers without the data do: each `wait` hands back one of the ended trials by raising
    the worker's UserError, the other stays ended until the next `wait` (RayExecutor.wait)."""

    capacity = 2

    def __init__(self) -> None:
        self.ended: list[optuna.Trial] = []
        self.submitted = 0

    def has_room(self) -> bool:
        return len(self.ended) < self.capacity

    def submit(self, trial: optuna.Trial, config: TrainConfig, checkpoint: Path) -> None:
        self.ended.append(trial)
        self.submitted += 1

    def wait(self, timeout_s: float) -> list:
        if not self.ended or self.submitted < self.capacity:  # ends once both have started
            return []
        self.ended.pop(0)
        raise UserError("--data-dir /data: no CIFAR-10 on this worker")

    def running(self) -> list[optuna.Trial]:
        return list(self.ended)

    def cancel(self) -> None:
        self.ended.clear()


class DyingWorker:
    """An executor whose worker dies under the first trial it is given and under every retry
    of it, as a Ray worker killed mid-trial (RayExecutor: FAIL, to retry); the trial's speed is
    recorded first, as a worker records it each epoch, and with `saves` its checkpoint, as an
    epoch ends. Every other trial completes. Where `other` is given, another driver tells each
    dying trial COMPLETE first (SQLite's race)."""

    def __init__(self, other: optuna.Study | None = None, saves: bool = True) -> None:
        self.other, self.doomed, self.saves = other, None, saves
        self.given: list[optuna.trial.FrozenTrial] = []  # each trial as it was handed over
        self.ended: list[tuple[optuna.Trial, object]] = []

    def has_room(self) -> bool:
        return not self.ended

    def submit(self, trial: optuna.Trial, config: TrainConfig, checkpoint: Path) -> None:
        from search.training import Outcome
        from search.trial import IMAGES_PER_S, frozen, retried_from

        self.given.append(frozen(trial))
        self.doomed = trial.number if self.doomed is None else self.doomed
        if self.doomed not in (trial.number, retried_from(frozen(trial))):
            self.ended.append((trial, Outcome(optuna.trial.TrialState.COMPLETE, value=0.5)))
            return
        trial.set_user_attr(IMAGES_PER_S, 123.0)
        if self.saves:
            checkpoint.write_bytes(b"epoch 1")
        if self.other is not None:
            self.other.tell(trial.number, 0.5)
        died = Outcome(optuna.trial.TrialState.FAIL, reason="worker died (X)", retry=True)
        self.ended.append((trial, died))

    def wait(self, timeout_s: float) -> list:
        ended, self.ended = self.ended, []
        return ended

    def running(self) -> list[optuna.Trial]:
        return [trial for trial, _ in self.ended]

    def cancel(self) -> None:
        self.ended.clear()


class DiesOnce(Timed):
    """The first process to call it dies at once (as on a node that went down); the others
    train like `Timed`."""

    def __init__(self, flag: Path, seconds_per_epoch: float) -> None:
        super().__init__(seconds_per_epoch)
        self.flag = flag

    def __call__(self, config: TrainConfig, report=None, **kwargs: object) -> Metrics:
        try:
            self.flag.touch(exist_ok=False)
        except FileExistsError:
            return super().__call__(config, report, **kwargs)
        os._exit(1)

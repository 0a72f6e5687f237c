"""What `search run` takes, checked before anything is opened or written."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from errors import UserError
from search.pruning import check_pruner
from trainers.config import MAX_SEED
from trainers.device import check_precision

__all__ = ["DEFAULT_BUDGET", "RunOptions"]

DEFAULT_BUDGET = 5_000_000


@dataclass(frozen=True)
class RunOptions:
    """Everything `search run` takes; None means "the default for where trials run"."""

    space: str = "resnet_budget"  # registered name, or path of a .py file defining one
    study: str | None = None  # default: the space's name
    trials: int = 20  # trained trials (COMPLETE, or PRUNED by the pruner) the study should hold
    budget: int = DEFAULT_BUDGET  # trainable parameters a model may have
    storage: str | None = None  # SQLAlchemy URL; default $SEARCH_STORAGE, else ./search.db
    pruner: str = "sha"
    epochs: int | None = None  # fidelity: epochs per trial
    train_subset: int | None = None  # fidelity: training images per epoch, 0 = all
    val_size: int | None = None  # fidelity: training images held out to validate
    data_dir: Path | None = None
    device: str | None = None
    precision: str = "auto"
    seed: int | None = None  # sampler seed
    workers: int | None = None  # trials at once; more than 1 runs them on Ray
    gpus_per_trial: float | None = None
    cpus_per_trial: float | None = None
    ray_address: str | None = None  # join this Ray cluster ("auto": the local one)
    checkpoint_dir: Path | None = None  # default: beside the SQLite file, else ./checkpoints
    heartbeat_s: int = 10  # a running trial silent for 3 beats is failed and run again

    @property
    def study_name(self) -> str:
        return self.study or Path(self.space).stem

    @property
    def uses_ray(self) -> bool:
        """Trials go to Ray when asked for Ray resources, or for more than one at once (by
        default, one per local GPU)."""
        asked = (self.ray_address, self.gpus_per_trial, self.cpus_per_trial)
        if any(value is not None for value in asked):
            return True
        workers = self.workers if self.workers is not None else torch.cuda.device_count()
        return workers > 1

    def check(self) -> None:
        """UserError naming the first option out of range; what needs the space, the data, the
        storage or Ray is checked where those are opened."""
        if self.trials < 1:
            raise UserError(f"--trials must be a positive number, got {self.trials}")
        if self.budget < 1:
            raise UserError(f"--budget must be a positive number of parameters, got {self.budget}")
        if self.seed is not None and not 0 <= self.seed <= MAX_SEED:
            raise UserError(f"--seed must be 0 to {MAX_SEED:,}, got {self.seed}")
        if self.workers is not None and self.workers < 1:
            raise UserError(f"--workers must be >= 1, got {self.workers}")
        if self.heartbeat_s < 1:
            raise UserError(f"--heartbeat must be >= 1 second, got {self.heartbeat_s}")
        check_pruner(self.pruner)
        check_precision(self.precision)
        if self.uses_ray and self.device not in (None, "cpu", "cuda"):
            raise UserError(
                f"--device {self.device!r} with Ray workers; allowed: cpu or cuda (each trial "
                "uses the GPUs Ray gives it)"
            )

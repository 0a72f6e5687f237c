"""What `search run` takes, checked before anything is opened or written."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from errors import UserError
from search.pruning import check_pruner
from spaces.resnet_budget import DEFAULT_BUDGET
from storage.url import in_memory, mask, resolve_url
from trainers.config import MAX_SEED

__all__ = ["DEFAULT_BUDGET", "RunOptions", "check_budget", "checkpoint_dirname"]

MAX_BUDGET = 10**10  # 40 GB of fp32 weights, before gradients: beyond any one GPU
MAX_TRIALS = 1_000_000
MAX_WORKERS = 10_000
MAX_TRIALS_PER_GPU = 64
MAX_TIMEOUT_S = 366 * 24 * 3600  # a year
MAX_HEARTBEAT_S = 3600  # an hour; the grace before a silent trial is failed is 3 beats
MAX_STUDY_NAME = 512  # characters Optuna stores of a study name
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")  # a study name usable as a directory


@dataclass(frozen=True)
class RunOptions:
    """Everything `search run` takes; None means "the default for where trials run"."""

    space: str = "resnet_budget"  # registered name, or path of a .py file defining one
    study: str | None = None  # default: the space's name
    trials: int = 20  # trained trials (COMPLETE, or PRUNED by the pruner) the study should hold
    timeout_s: int | None = None  # seconds from the start after which no trial starts (the
    # running ones finish); None: no time limit
    budget: int = DEFAULT_BUDGET  # trainable parameters a model may have
    storage: str | None = None  # SQLAlchemy URL; default $SEARCH_STORAGE, else ./search.db
    pruner: str = "sha"
    epochs: int | None = None  # fidelity: epochs per trial
    train_subset: int | None = None  # fidelity: training images per epoch, 0 = all
    val_size: int | None = None  # fidelity: training images held out to validate
    data_dir: Path | None = None
    device: str | None = None
    precision: str = "auto"
    compile: bool = False  # torch.compile each trial's model (CUDA graphs on CUDA)
    cuda_graphs: bool | None = None  # each trial's step captured as a CUDA graph; None: where
    # it can be (on CUDA, neither compiled nor fp16)
    seed: int | None = None  # sampler seed
    workers: int | None = None  # trials at once; more than 1 runs them on Ray
    gpus_per_trial: float | None = None
    trials_per_gpu: int | None = None  # default on GPUs: each trial's own, by model and batch
    cpus_per_trial: float | None = None
    ray_address: str | None = None  # join this Ray cluster ("auto": the local one)
    checkpoint_dir: Path | None = None  # default: beside the SQLite file, else ./checkpoints
    heartbeat_s: int = 10  # a running trial silent for 3 beats is failed and run again
    warm_start: bool = True  # a new study tries the zoo's published designs within budget first

    @property
    def study_name(self) -> str:
        return self.study or Path(self.space).stem

    @property
    def uses_ray(self) -> bool:
        """Trials go to Ray when asked for Ray resources, for more than one at once or more
        than one per GPU, and by default on a machine with GPUs (more than one, or one that
        trials may share), unless the device is named: the CPU, or one GPU."""
        asked = (self.ray_address, self.gpus_per_trial, self.cpus_per_trial)
        if any(value is not None for value in asked) or self.trials_per_gpu not in (None, 1):
            return True
        if self.workers is not None:
            return self.workers > 1
        if self.device not in (None, "cuda"):
            return False  # trials train here, one at a time
        import torch  # only a run asks; a command that only reads a study never loads torch

        gpus = torch.cuda.device_count()
        if self.trials_per_gpu == 1:  # here on one GPU; Ray on several (or to say there is none)
            return gpus != 1
        return gpus >= 1

    def check(self) -> None:
        """UserError naming the first option out of range; what needs the space, the data, the
        storage or Ray is checked where those are opened."""
        if self.study is not None and not 1 <= len(self.study) <= MAX_STUDY_NAME:
            raise UserError(
                f"--study must be 1 to {MAX_STUDY_NAME} characters, got {len(self.study)}"
            )
        _in_range("--trials", self.trials, 1, MAX_TRIALS)
        if self.timeout_s is not None:
            _in_range("--timeout", self.timeout_s, 1, MAX_TIMEOUT_S, " seconds")
        check_budget(self.budget)
        if self.seed is not None:
            _in_range("--seed", self.seed, 0, MAX_SEED)
        if self.workers is not None:
            _in_range("--workers", self.workers, 1, MAX_WORKERS)
        if self.trials_per_gpu is not None:
            _in_range("--trials-per-gpu", self.trials_per_gpu, 1, MAX_TRIALS_PER_GPU)
            if self.gpus_per_trial is not None:
                raise UserError("--trials-per-gpu and --gpus-per-trial: give one of them")
            if self.device == "cpu":
                raise UserError("--trials-per-gpu with --device cpu: trials on the CPU hold no GPU")
        _in_range("--heartbeat", self.heartbeat_s, 1, MAX_HEARTBEAT_S, " seconds")
        from search.fidelity import Fidelity  # the ranges of those given; defaults fit them

        given = (self.epochs, self.train_subset, self.val_size)
        Fidelity(*(v if v is not None else low for v, low in zip(given, (1, 0, 1), strict=True)))
        if self.gpus_per_trial is not None and not self.gpus_per_trial >= 0:  # NaN too; the
            raise UserError(f"--gpus-per-trial {self.gpus_per_trial:g}; allowed: 0 or more")
        if self.cpus_per_trial is not None and not self.cpus_per_trial > 0:  # most: Ray's
            raise UserError(f"--cpus-per-trial {self.cpus_per_trial:g}; allowed: more than 0")
        check_pruner(self.pruner)
        from trainers.device import check_precision  # torch, which a run loads anyway

        check_precision(self.precision)
        if self.uses_ray and in_memory(url := resolve_url(self.storage)):
            raise UserError(
                f"--storage {mask(url)} is in memory, which Ray workers cannot share; allowed: a "
                "SQLite file (sqlite:///search.db) or a database server"
            )
        if self.uses_ray and self.device not in (None, "cpu", "cuda"):
            raise UserError(
                f"--device {self.device!r} with Ray workers; allowed: cpu or cuda (each trial "
                "uses the GPUs Ray gives it)"
            )


def check_budget(budget: int) -> None:
    """UserError unless `budget` is a parameter count search can take."""
    _in_range("--budget", budget, 1, MAX_BUDGET, " parameters")


def _in_range(flag: str, value: int, low: int, high: int, unit: str = "") -> None:
    if not low <= value <= high:
        raise UserError(f"{flag} must be {low:,} to {high:,}{unit}, got {value}")


def checkpoint_dirname(study: str) -> str:
    """The directory a study's checkpoints go in, under the checkpoint root: the study's name
    if it is a plain one, else its plain characters and a hash of the whole name, so that no
    name reaches outside the root (`/abs`, `..`) and different names never share one."""
    if _PLAIN.fullmatch(study):
        return study
    plain = re.sub(r"[^A-Za-z0-9._-]+", "_", study).strip("._-")[:100]
    digest = hashlib.sha256(study.encode()).hexdigest()[:12]
    return f"{plain}-{digest}" if plain else digest

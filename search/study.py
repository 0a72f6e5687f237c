"""Creating, resuming and running a study: sampler, pruner, budget check, stopping rule."""

from __future__ import annotations

import shlex
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import optuna
import torch
from optuna.pruners import BasePruner
from optuna.trial import FrozenTrial, TrialState

from search.fidelity import Fidelity
from search.objective import Objective, is_budget_rejected, is_trained
from search.progress import TrialProgress, log
from spaces import Space, probe
from storage import describe_storage, mask, open_storage
from trainers import (
    DivergedError,
    Metrics,
    UserError,
    autocast_dtype,
    count_params,
    describe_device,
    resolve_device,
    train,
)
from trainers.config import MAX_SEED
from trainers.data import find_cifar10

__all__ = [
    "DEFAULT_BUDGET",
    "PRUNERS",
    "Search",
    "load_study",
    "make_pruner",
    "make_sampler",
    "run_search",
    "smallest_model",
    "trained_count",
]

DEFAULT_BUDGET = 5_000_000
PRUNERS = ("sha", "hyperband", "median", "none")
MAX_UNTRAINED_IN_A_ROW = 100  # budget rejections or failures in a row before a run gives up
PROBES = 200  # random configs sampled to find the smallest model of a space


@dataclass(frozen=True)
class Search:
    """What a study searches; stored with it and checked when it is resumed."""

    space: str  # registered name, or path of the user's file
    budget: int  # trainable parameters a model may have
    fidelity: Fidelity

    def __post_init__(self) -> None:
        if self.budget < 1:
            raise UserError(f"--budget must be a positive number of parameters, got {self.budget}")

    def attrs(self) -> dict[str, object]:
        return {"space": self.space, "budget": self.budget, "fidelity": asdict(self.fidelity)}


def make_pruner(name: str, epochs: int) -> BasePruner:
    """The multi-fidelity pruner `name`, its resource being the epoch.

    sha (the default) is asynchronous successive halving: at epochs 1, 3, 9, 27 only the best
    third of the trials that got there go on. hyperband runs several such brackets with later
    first rungs, but shows the sampler only the trials of the bracket at hand, so TPE learns
    from a fraction of the study (Optuna's HyperbandPruner design).
    """
    if name == "sha":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=epochs, reduction_factor=3
        )
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise UserError(f"unknown pruner {name!r}; allowed: {', '.join(PRUNERS)}")


def make_sampler(seed: int | None = None) -> optuna.samplers.BaseSampler:
    """Multivariate TPE; it learns the budget from the constraint each trial records."""
    return optuna.samplers.TPESampler(seed=seed, multivariate=True)


def smallest_model(space: Space, probes: int = PROBES) -> int:
    """Fewest parameters among `probes` random configs of `space` (in memory, seeded).

    Also shows early, before any storage is touched, that the space runs and returns configs.
    """
    return min(count_params(config.model) for _, config in probe(space, probes))


def load_study(storage_url: str | None, name: str) -> optuna.Study:
    """An existing study; an unknown name fails with the names that exist."""
    storage = open_storage(storage_url, must_exist=True)
    names = optuna.get_all_study_names(storage)
    if name not in names:
        known = ", ".join(sorted(names)) or "none yet"
        raise UserError(f"no study {name!r} in {mask(storage.url)}; studies there: {known}")
    return optuna.load_study(study_name=name, storage=storage)


def _create_or_resume(
    storage: optuna.storages.BaseStorage,
    name: str,
    search: Search,
    pruner: BasePruner,
    seed: int | None,
) -> optuna.Study:
    if name in optuna.get_all_study_names(storage):
        study = optuna.load_study(study_name=name, storage=storage, pruner=pruner)
        if seed is not None:  # a resumed run must not replay the random start-up configs
            seed = (seed + len(study.get_trials(deepcopy=False))) % (MAX_SEED + 1)
        study.sampler = make_sampler(seed)
        if study.direction != optuna.study.StudyDirection.MAXIMIZE:
            raise UserError(f"study {name!r} minimizes; allowed: a study that maximizes accuracy")
        for key, value in search.attrs().items():
            stored = study.user_attrs.get(key)
            if stored != value:
                raise UserError(
                    f"study {name!r} was created with {key} {stored!r}, not {value!r}; "
                    f"allowed: the same {key}, or a new --study name"
                )
        return study
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        sampler=make_sampler(seed),
        pruner=pruner,
        direction="maximize",
    )
    with warnings.catch_warnings():  # experimental since Optuna 3.2, and what dashboards read
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(["val_accuracy"])
    for key, value in search.attrs().items():
        study.set_user_attr(key, value)
    study.set_user_attr("command", shlex.join(["search", *sys.argv[1:]]))
    return study


def trained_count(trials: Sequence[FrozenTrial]) -> int:
    return sum(is_trained(t) for t in trials)


class _StopRule:
    """`study.optimize` callback: stop at `target` trained trials in the whole study, or when
    too many trials in a row did not train (a space that only builds over-budget models)."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.untrained_in_a_row = 0
        self.gave_up = False

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self.untrained_in_a_row = 0 if is_trained(trial) else self.untrained_in_a_row + 1
        done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
        if trained_count(done) >= self.target:
            study.stop()
        elif self.untrained_in_a_row >= MAX_UNTRAINED_IN_A_ROW:
            self.gave_up = True
            study.stop()


def run_search(
    search: Search,
    space: Space,
    *,
    study_name: str,
    trials: int,
    storage_url: str | None = None,
    pruner: str = "sha",
    seed: int | None = None,
    data_dir: str | Path | None = None,
    device: torch.device | None = None,
    precision: str = "auto",
    train_fn: Callable[..., Metrics] = train,
) -> optuna.Study:
    """Run `study_name` until it holds `trials` trained trials, creating it if need be.

    Trials train with `train_fn(config, report, data_dir=, device=, precision=)`. Everything
    a person can get wrong is checked before the storage is written.
    """
    if trials < 1:
        raise UserError(f"--trials must be a positive number, got {trials}")
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise UserError(f"--seed must be 0 to {MAX_SEED:,}, got {seed}")
    device = device or resolve_device()
    device_name = describe_device(device)
    autocast_dtype(device, precision)  # checks the name
    pruner_ = make_pruner(pruner, search.fidelity.epochs)
    smallest = smallest_model(space)
    if smallest > search.budget:
        raise UserError(
            f"--budget {search.budget:,} is below every model of space {search.space!r} "
            f"(smallest of {PROBES} sampled: {smallest:,} parameters); "
            f"allowed: a budget of at least {smallest:,}"
        )
    data_dir = find_cifar10(data_dir)  # a missing copy is downloaded (or fails) here
    storage = open_storage(storage_url)
    study = _create_or_resume(storage, study_name, search, pruner_, seed)
    log(f"study {study_name!r} in {describe_storage(storage.url)}")
    log(f"space {search.space!r}, budget {search.budget:,} parameters, pruner {pruner}")
    log(f"fidelity: {search.fidelity.describe()}, on {device_name}")
    log(f"data: CIFAR-10 from {data_dir}")
    done = trained_count(study.get_trials(deepcopy=False))
    if done >= trials:
        log(f"study already has {done} trained trials (--trials {trials}): nothing to run")
        return study
    log(f"{done} trained trials so far; running until {trials}")
    stop = _StopRule(trials)
    with TrialProgress() as progress:
        train_kwargs = {"data_dir": data_dir, "device": device, "precision": precision}
        objective = Objective(
            space,
            search.budget,
            search.fidelity,
            device_name,
            train_fn,
            train_kwargs,
            progress,
        )
        study.optimize(objective, callbacks=[progress, stop], catch=(DivergedError,))
    if stop.gave_up:
        rejected = sum(is_budget_rejected(t) for t in study.get_trials(deepcopy=False)[-10:])
        raise UserError(
            f"space {search.space!r} gave {MAX_UNTRAINED_IN_A_ROW} trials in a row that did not "
            f"train ({rejected} of the last 10 over --budget {search.budget:,}); allowed: a "
            "larger --budget or a space that builds smaller models"
        )
    return study

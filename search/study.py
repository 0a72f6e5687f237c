"""`search run` as a library call: check everything, open the study, run its trials.

Everything a person can get wrong is checked before the storage is written. The trials then
run in this process, or on Ray when there are several workers or a cluster to join.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import optuna
import optuna_dashboard
import torch
from sqlalchemy.engine import make_url

from search.algorithms import make_pruner, make_sampler
from search.dashboard import mask_command, study_note
from search.fidelity import Fidelity, default_fidelity
from search.objective import trained_count
from search.progress import TrialProgress, log
from search.runner import LocalExecutor, Plan, run_trials
from spaces import Space, get_space, probe
from storage import describe_storage, mask, open_storage
from trainers import (
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

__all__ = ["DEFAULT_BUDGET", "RunOptions", "Search", "load_study", "run_search", "smallest_model"]

DEFAULT_BUDGET = 5_000_000
PROBES = 200  # random configs sampled to find the smallest model of a space


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
    def uses_ray(self) -> bool:
        """Trials go to Ray when asked for Ray resources, or for more than one at once (by
        default, one per local GPU)."""
        asked = (self.ray_address, self.gpus_per_trial, self.cpus_per_trial)
        if any(value is not None for value in asked):
            return True
        workers = self.workers if self.workers is not None else torch.cuda.device_count()
        return workers > 1


@dataclass(frozen=True)
class Search:
    """What a study searches; stored with it and checked when it is resumed."""

    space: str  # registered name, or path of the user's file
    budget: int  # trainable parameters a model may have
    fidelity: Fidelity

    def attrs(self) -> dict[str, object]:
        return {"space": self.space, "budget": self.budget, "fidelity": asdict(self.fidelity)}


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
        where = describe_storage(getattr(storage, "url", storage_url or ""))
        raise UserError(f"no study {name!r} in {where}; studies there: {known}")
    return optuna.load_study(study_name=name, storage=storage)


def _create(
    storage: optuna.storages.BaseStorage, name: str, search: Search, pruner_name: str
) -> optuna.Study | None:
    """A new study with its settings and note; None if another process just created it."""
    try:
        study = optuna.create_study(
            study_name=name, storage=storage, pruner=make_pruner(pruner_name, 1),
            direction="maximize",
        )  # fmt: skip
    except optuna.exceptions.DuplicatedStudyError:
        return None
    with warnings.catch_warnings():  # experimental since Optuna 3.2; dashboards read it
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(["val_accuracy"])
    for key, value in search.attrs().items():
        study.set_user_attr(key, value)
    command = shlex.join(["search", *mask_command(sys.argv[1:])])
    study.set_user_attr("command", command)
    note = study_note(search.space, search.budget, search.fidelity.describe(), pruner_name, command)
    optuna_dashboard.save_note(study, note)
    return study


def _create_or_resume(
    storage: optuna.storages.BaseStorage, name: str, search: Search, pruner_name: str,
    seed: int | None,
) -> optuna.Study:  # fmt: skip
    """The study, created, or resumed if what it searches is the same."""
    created = None
    if name not in optuna.get_all_study_names(storage):
        created = _create(storage, name, search, pruner_name)
    pruner = make_pruner(pruner_name, search.fidelity.epochs)
    study = optuna.load_study(study_name=name, storage=storage, pruner=pruner)
    if study.direction != optuna.study.StudyDirection.MAXIMIZE:
        raise UserError(f"study {name!r} minimizes; allowed: a study that maximizes accuracy")
    for key, value in search.attrs().items():
        stored = study.user_attrs.get(key)
        if stored is None:  # its creator, started at the same moment, has not written it yet
            study.set_user_attr(key, value)
        elif stored != value:
            raise UserError(
                f"study {name!r} was created with {key} {stored!r}, not {value!r}; "
                f"allowed: the same {key}, or a new --study name"
            )
    if seed is not None and created is None:  # resumed: don't replay the random start-up
        seed = (seed + len(study.get_trials(deepcopy=False))) % (MAX_SEED + 1)
    study.sampler = make_sampler(seed)
    return study


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM stops a run as Ctrl-C does: running trials end FAIL, none left RUNNING."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _check(options: RunOptions) -> None:
    if options.trials < 1:
        raise UserError(f"--trials must be a positive number, got {options.trials}")
    if options.budget < 1:
        raise UserError(f"--budget must be a positive number of parameters, got {options.budget}")
    if options.seed is not None and not 0 <= options.seed <= MAX_SEED:
        raise UserError(f"--seed must be 0 to {MAX_SEED:,}, got {options.seed}")
    if options.workers is not None and options.workers < 1:
        raise UserError(f"--workers must be >= 1, got {options.workers}")
    if options.heartbeat_s < 1:
        raise UserError(f"--heartbeat must be >= 1 second, got {options.heartbeat_s}")
    make_pruner(options.pruner, 1)  # checks the name
    autocast_dtype(torch.device("cpu"), options.precision)  # checks the name
    if options.uses_ray and options.device not in (None, "cpu", "cuda"):
        raise UserError(
            f"--device {options.device!r} with Ray workers; allowed: cpu or cuda (each trial "
            "uses the GPUs Ray gives it)"
        )


def run_search(options: RunOptions, train_fn: Callable[..., Metrics] = train) -> optuna.Study:
    """Run the study until it holds `options.trials` trained trials, creating it if need be.

    Trials train with `train_fn(config, report, data_dir=, device=, precision=)`.
    """
    _check(options)
    space = get_space(options.space)
    smallest = smallest_model(space)
    if smallest > options.budget:
        raise UserError(
            f"--budget {options.budget:,} is below every model of space {options.space!r} "
            f"(smallest of {PROBES} sampled: {smallest:,} parameters); "
            f"allowed: a budget of at least {smallest:,}"
        )
    if not options.uses_ray:
        return _run_local(options, space, train_fn)
    from search.ray_executor import ray_session

    with ray_session(options.ray_address):
        return _run_on_ray(options, space, train_fn)


def _open(
    options: RunOptions, fidelity: Fidelity, where: str
) -> tuple[optuna.Study, optuna.storages.BaseStorage, Path]:
    """Find the data, open the storage, create or resume the study; say where all of it is."""
    data_dir = find_cifar10(options.data_dir)  # a missing copy is downloaded (or fails) here
    search = Search(options.space, options.budget, fidelity)
    storage = open_storage(options.storage, heartbeat_s=options.heartbeat_s)
    name = options.study or Path(options.space).stem
    _writable(checkpoint_dir(options.checkpoint_dir, storage.url, name))
    study = _create_or_resume(storage, name, search, options.pruner, options.seed)
    log(f"study {name!r} in {describe_storage(storage.url)}")
    log(f"space {options.space!r}, budget {options.budget:,} parameters, pruner {options.pruner}")
    log(f"fidelity: {fidelity.describe()}; trials on {where}")
    log(f"data: CIFAR-10 from {data_dir}")
    return study, storage, data_dir


def checkpoint_dir(option: Path | None, storage_url: str, study: str) -> Path:
    """The study's checkpoint directory: under --checkpoint-dir, else beside the SQLite file
    (search.db -> search-checkpoints/), else ./checkpoints."""
    if option is None:
        parsed = make_url(storage_url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            database = Path(parsed.database).resolve()
            option = database.with_name(f"{database.stem}-checkpoints")
        else:
            option = Path("checkpoints").resolve()
    return option / study


def _writable(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(
            f"checkpoint directory {directory} cannot be created ({err.strerror}); allowed: "
            "--checkpoint-dir naming a writable directory"
        ) from None
    if not os.access(directory, os.W_OK):
        raise UserError(
            f"checkpoint directory {directory} is not writable; allowed: --checkpoint-dir "
            "naming a writable directory"
        )


def _plan(
    study: optuna.Study, options: RunOptions, space: Space, fidelity: Fidelity, url: str
) -> Plan:
    done = trained_count(study.get_trials(deepcopy=False))
    verb = "nothing to run" if done >= options.trials else f"running until {options.trials}"
    log(f"{done} trained trials so far; {verb}")
    checkpoints = checkpoint_dir(options.checkpoint_dir, url, study.study_name)
    log(f"checkpoints: {checkpoints}")
    return Plan(space, fidelity, options.budget, options.trials, checkpoints, options.heartbeat_s)


def _run_local(options: RunOptions, space: Space, train_fn: Callable[..., Metrics]) -> optuna.Study:
    device = resolve_device(options.device)
    fidelity = default_fidelity(device, options.epochs, options.train_subset, options.val_size)
    study, storage, data_dir = _open(options, fidelity, describe_device(device))
    plan = _plan(study, options, space, fidelity, storage.url)
    kwargs = {"data_dir": data_dir, "device": device, "precision": options.precision}
    with _sigterm_interrupts(), TrialProgress() as progress:
        run_trials(study, plan, LocalExecutor(train_fn, kwargs, progress), progress)
    return study


def _run_on_ray(
    options: RunOptions, space: Space, train_fn: Callable[..., Metrics]
) -> optuna.Study:
    import ray

    from search.ray_executor import RayExecutor, plan_resources
    from storage.proxy import serve_proxy

    res = plan_resources(options.workers, options.gpus_per_trial, options.cpus_per_trial)
    gpu = torch.device("cuda" if res.gpus_per_trial else "cpu")
    fidelity = default_fidelity(gpu, options.epochs, options.train_subset, options.val_size)
    where = (
        f"Ray, {res.workers} at once, each with {res.gpus_per_trial:g} GPU and "
        f"{res.cpus_per_trial:g} CPU"
    )
    study, storage, data_dir = _open(options, fidelity, where)
    plan = _plan(study, options, space, fidelity, storage.url)
    kwargs = {"data_dir": data_dir, "device": options.device, "precision": options.precision}
    with contextlib.ExitStack() as stack:
        address = storage.url
        if storage.url.startswith("sqlite"):  # one writer: workers go through the driver
            address = stack.enter_context(serve_proxy(storage, ray.util.get_node_ip_address()))
            log(f"workers reach the storage through Optuna's gRPC proxy at {address}")
        else:
            log(f"workers reach the storage at {mask(address)}")
        stack.enter_context(_sigterm_interrupts())
        progress = stack.enter_context(TrialProgress())
        executor = RayExecutor(res, address, study, options.pruner, train_fn, kwargs, progress)
        run_trials(study, plan, executor, progress)
    return study

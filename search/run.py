"""`search run` as a library call: check everything, open the study, run its trials.

Everything a person can get wrong is checked before the storage is written. The trials then run
in this process, or on Ray when there are several workers or a cluster to join: one path, which
differs only by its executor and how it describes where trials train.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
import torch

from errors import UserError
from search import interrupts
from search.console import log, step
from search.executors import Executor, LocalExecutor
from search.fidelity import Fidelity, default_fidelity
from search.options import RunOptions, checkpoint_dirname
from search.plan import Plan
from search.progress import TrialProgress
from search.pruning import describe_pruner
from search.runner import run_trials
from search.study import Search, create_or_resume
from search.trial import frozen, trained_count
from spaces import Space, get_space, probe, space_key
from storage import Storage, check_storage, open_storage
from trainers import Metrics, autocast_dtype, count_params, describe_device, resolve_device
from trainers.data import find_cifar10, load_cifar10
from trainers.loop import train
from trainers.outputs import output_dir
from trainers.step import check_graphs

if TYPE_CHECKING:
    from search.executors.resources import Resources

__all__ = ["PROBES", "run_search", "smallest_model"]

PROBES = 200  # random configs sampled to find the smallest model of a space
PROBE_SHARE = 0.1  # of --timeout, the most its probes may take once one gave a config


def smallest_model(
    space: Space, budget: int, probes: int = PROBES, until: float | None = None
) -> tuple[int, int]:
    """Fewest parameters among `probes` random configs of `space` at `budget` (in memory,
    seeded), none probed after `until` once one came back; and how many came back.

    Also shows early, before any storage is touched, that the space runs and returns configs.
    """
    counts = [count_params(c.model) for _, c in probe(space, probes, budget=budget, until=until)]
    return min(counts), len(counts)


def run_search(options: RunOptions, train_fn: Callable[..., Metrics] = train) -> optuna.Study:
    """Run the study until it holds `options.trials` trained trials, creating it if need be, or
    until `options.timeout_s` from now, after which no trial starts and the running ones finish.

    Trials train with `train_fn(config, report, data_dir=, device=, precision=, checkpoint=)`,
    and `compile=True` with `options.compile`, `graphs=` with `options.cuda_graphs` when given
    (without it, `train` uses CUDA graphs wherever they can be: `trainers.step.use_graphs`).
    """
    options.check()
    started = time.monotonic()  # --timeout counts from here, set-up included
    space = get_space(options.space)
    _check_budget(space, options, started)
    data_dir = find_cifar10(options.data_dir)  # a missing copy is downloaded (or fails) here
    if options.checkpoint_dir is not None:  # refused before a new storage is made
        _writable(options.checkpoint_dir / checkpoint_dirname(options.study_name))
    if options.uses_ray:  # said before Ray takes seconds to start
        check_storage(options.storage)
    with contextlib.ExitStack() as stack:
        resources = _ray_resources(options, stack) if options.uses_ray else None
        device = resources.device if resources else resolve_device(options.device)
        if options.cuda_graphs:  # refused before the study opens; by default each trial
            # decides where it trains (`train`): the driver never touches CUDA for it
            blind = device.type == "cuda" and not torch.cuda.is_available()  # a Ray head
            auto = blind and options.precision == "auto"  # without GPUs: the trials check it
            check_graphs(device, None if auto else autocast_dtype(device, options.precision),
                         options.compile)  # fmt: skip
        fidelity = default_fidelity(device, options.epochs, options.train_subset, options.val_size)
        storage = open_storage(options.storage, heartbeat_s=options.heartbeat_s)
        stack.enter_context(interrupts.raising())  # held while a new study is written
        study, plan = _open(options, space, fidelity, storage, started)
        stack.callback(_remove_if_empty, plan.checkpoints, options.checkpoint_dir is None)
        where = resources.describe() if resources else describe_device(device)
        log(f"fidelity: {fidelity.describe()}; trials on {where}")
        if caveat := fidelity.caveat():
            log(caveat)
        log(f"data: CIFAR-10 from {data_dir}")
        progress = TrialProgress()
        kwargs = _train_kwargs(options, data_dir)
        if resources is None:  # trains here: read the data once, show each epoch as reported
            with step(f"loading CIFAR-10 onto {device}") as loading:
                load_cifar10(data_dir, device, loading)  # kept: the trials here reuse it

            def on_epoch(trial: optuna.Trial) -> None:
                progress.running([frozen(trial)])

            executor: Executor = LocalExecutor(train_fn, {**kwargs, "device": device}, on_epoch)
        else:
            kwargs["device"] = options.device  # each worker resolves the devices Ray gives it
            given = options.data_dir  # as given, absolute; none: each node's own cache
            kwargs["data_dir"] = Path(given).expanduser().absolute() if given else None
            executor = _ray_executor(resources, storage, study, train_fn, kwargs, stack)
        run_trials(study, plan, executor, stack.enter_context(progress))
    return study


def _check_budget(space: Space, options: RunOptions, started: float) -> None:
    """Refuse a budget below every model the space's probes built (probed for a tenth of
    --timeout at most, once one gave a config)."""
    timeout = options.timeout_s
    until = None if timeout is None else started + PROBE_SHARE * timeout
    smallest, sampled = smallest_model(space, options.budget, until=until)
    if smallest > options.budget:
        raise UserError(
            f"--budget {options.budget:,} is below every model of space {options.space!r} "
            f"(smallest of {sampled} sampled: {smallest:,} parameters); "
            f"allowed: a budget of at least {smallest:,}"
        )


def _train_kwargs(options: RunOptions, data_dir: Path) -> dict[str, Any]:
    """What every trial's `train_fn` gets beside its config, report and checkpoint (and its
    device: each executor knows it)."""
    kwargs: dict[str, Any] = {"data_dir": data_dir, "precision": options.precision}
    if options.compile:  # a user's own train_fn need not know the flag until it is used
        kwargs["compile"] = True
    if options.cuda_graphs is not None:
        kwargs["graphs"] = options.cuda_graphs
    return kwargs


def _open(
    options: RunOptions, space: Space, fidelity: Fidelity, storage: Storage, started: float
) -> tuple[optuna.Study, Plan]:
    """The study, created or resumed, and the plan of its run; says which and how far it got."""
    name = options.study_name
    root = options.checkpoint_dir or storage.checkpoint_root
    checkpoints = _writable(root / checkpoint_dirname(name))
    search = Search(space_key(options.space), options.budget, fidelity, options.pruner)
    study = create_or_resume(storage, name, search, options.seed, options.warm_start)
    log(f"study {name!r} in {storage.description}")
    log(f"space {options.space!r}, budget {options.budget:,} parameters")
    log(f"pruner {describe_pruner(options.pruner, fidelity.epochs)}")
    done = trained_count(study.get_trials(deepcopy=False))
    verb = "nothing to run" if done >= options.trials else f"running until {options.trials}"
    timeout, deadline = options.timeout_s, None
    if timeout is not None and done < options.trials:
        verb += f" or for {timeout:,} s (no trial starts after; the running ones finish)"
        deadline = started + timeout
    log(f"{done} trained trials so far; {verb}")
    log(f"checkpoints: {checkpoints}")
    plan = Plan(
        space, fidelity, options.budget, options.trials, checkpoints, options.heartbeat_s, deadline
    )
    return study, plan


def _ray_resources(options: RunOptions, stack: contextlib.ExitStack) -> Resources:
    """Ray, joined or started for the rest of the run, and what each trial asks it for."""
    from search.executors import ray_tasks, resources

    stack.enter_context(ray_tasks.ray_session(options.ray_address))
    return resources.plan_resources(
        options.workers, options.gpus_per_trial, options.cpus_per_trial, options.trials_per_gpu,
        options.device,
    )  # fmt: skip


def _ray_executor(
    resources: Resources, storage: Storage, study: optuna.Study, train_fn: Callable[..., Metrics],
    train_kwargs: dict[str, Any], stack: contextlib.ExitStack,
) -> Executor:  # fmt: skip
    from search.executors import ray_tasks

    address = stack.enter_context(ray_tasks.storage_for_workers(storage))
    if address == storage.url:
        log(f"workers reach the storage at {storage.masked}")
    else:
        log(f"workers reach the storage through Optuna's gRPC proxy at {address}")
    return ray_tasks.RayExecutor(
        resources, address, study.study_name, study.pruner, train_fn, train_kwargs
    )


def _writable(directory: Path) -> Path:
    """The checkpoint directory, made if need be; UserError unless files can be written in it."""
    return output_dir(directory, [], "checkpoint directory (--checkpoint-dir)")


def _remove_if_empty(directory: Path, and_root: bool) -> None:
    """The study's checkpoint directory goes once no trial has a checkpoint left in it (every
    one ended for good), and with `and_root` the default root too if nothing else is in it: a
    finished search leaves no empty folders behind. A driver or worker still running the study
    makes it again for its next checkpoint (`trainers.checkpoint.save`)."""
    with contextlib.suppress(OSError):  # not empty: trials to resume, or another study's
        directory.rmdir()
        if and_root:
            directory.parent.rmdir()

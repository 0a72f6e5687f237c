"""`search run`, `status`, `export`, `report`: a study from its first trial to its results.

Each command imports what it runs (Optuna, the storage, torch, Ray) in its body, so that
`search --help` loads none of it and `status` and `export` load no torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from errors import UserError
from search.cli.options import (
    Compile,
    CudaGraphs,
    DataDir,
    Device,
    Precision,
    Storage,
    Study,
)
from search.console import log, stdout
from search.fidelity import CPU_EPOCHS, CPU_TRAIN_SUBSET, CPU_VAL_SIZE, GPU_EPOCHS, VAL_SIZE
from search.options import DEFAULT_BUDGET, RunOptions
from search.pruning import PRUNERS

if TYPE_CHECKING:
    import optuna

__all__ = ["export", "report", "run", "status"]


def run(
    space: Annotated[str, typer.Option(help="Registered space name or path to a .py file.")] = (
        "resnet_budget"
    ),
    study: Annotated[str | None, typer.Option(help="Study name. [default: the space name]")] = None,
    trials: Annotated[int, typer.Option(help="Trained trials (complete or pruned) to reach.")] = 20,
    timeout: Annotated[
        int | None,
        typer.Option(
            help="Seconds after which no trial starts; the running ones finish, and a later "
            "run resumes the study. [default: none, until --trials]",
            show_default=False,
        ),
    ] = None,
    budget: Annotated[int, typer.Option(help="Most trainable parameters a model may have.")] = (
        DEFAULT_BUDGET
    ),
    storage: Storage = None,
    pruner: Annotated[str, typer.Option(help=f"One of: {', '.join(PRUNERS)}.")] = PRUNERS[0],
    epochs: Annotated[
        int | None,
        typer.Option(
            help=f"Epochs per trial. [default: {GPU_EPOCHS} on a GPU, {CPU_EPOCHS} on a CPU]",
            show_default=False,
        ),
    ] = None,
    train_subset: Annotated[
        int | None,
        typer.Option(
            help="Training images per epoch, 0 = all. "
            f"[default: 0 on a GPU, {CPU_TRAIN_SUBSET} on a CPU]",
            show_default=False,
        ),
    ] = None,
    val_size: Annotated[
        int | None,
        typer.Option(
            help=f"Training images held out to validate. [default: {VAL_SIZE} on a GPU, "
            f"{CPU_VAL_SIZE} on a CPU]",
            show_default=False,
        ),
    ] = None,
    data_dir: DataDir = None,
    device: Device = None,
    precision: Precision = "auto",
    compile: Compile = False,
    cuda_graphs: CudaGraphs = None,
    seed: Annotated[
        int | None,
        typer.Option(
            help="Seed of the sampler, to repeat a study's choices. [default: none, random]",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Trials at once, on Ray when more than 1. [default: as many as the GPUs hold "
            "(see --trials-per-gpu), at a CPU each; 1 without GPUs]",
            show_default=False,
        ),
    ] = None,
    gpus_per_trial: Annotated[
        float | None,
        typer.Option(
            help="GPUs each trial holds; 0.5 puts two trials on a GPU. [default: see "
            "--trials-per-gpu; 0 without GPUs]",
            show_default=False,
        ),
    ] = None,
    trials_per_gpu: Annotated[
        int | None,
        typer.Option(
            help="Trials sharing each GPU (--gpus-per-trial 1/N). [default: each trial's own, "
            "1, 2 or 4 per GPU by the arithmetic of its model's step, on Ray]",
            show_default=False,
        ),
    ] = None,
    cpus_per_trial: Annotated[
        float | None,
        typer.Option(
            help="CPUs each trial holds. [default: 1 with GPUs, else the CPUs shared out]",
            show_default=False,
        ),
    ] = None,
    checkpoint_dir: Annotated[
        Path | None,
        typer.Option(
            help="Trial checkpoints go under DIR/STUDY; on a cluster, a directory every node "
            "shares. [default: NAME-checkpoints beside the SQLite file NAME.db, else "
            "./checkpoints]",
            show_default=False,
        ),
    ] = None,
    heartbeat: Annotated[
        int,
        typer.Option(
            help="Seconds between heartbeats of running trials; one silent for "
            "three is failed and run again from its checkpoint."
        ),
    ] = 10,
    ray_address: Annotated[
        str | None,
        typer.Option(
            help="Join this Ray cluster (HOST:6379, ray://HOST:10001, or auto). [default: none; "
            "a local Ray when more than one trial runs at once]",
            show_default=False,
        ),
    ] = None,
    warm_start: Annotated[
        bool,
        typer.Option(
            help="A new resnet_budget study first tries the published designs that fit the "
            "budget (see `search zoo`)."
        ),
    ] = True,
) -> None:
    """Start or resume a study and run it until it holds --trials trained trials (or until
    --timeout)."""
    from search.run import run_search  # torch, and Ray when it is asked for

    options = RunOptions(
        space=space, study=study, trials=trials, timeout_s=timeout, budget=budget,
        storage=storage, pruner=pruner, epochs=epochs, train_subset=train_subset,
        val_size=val_size, data_dir=data_dir, device=device, precision=precision,
        compile=compile, cuda_graphs=cuda_graphs, seed=seed, workers=workers,
        gpus_per_trial=gpus_per_trial, trials_per_gpu=trials_per_gpu,
        cpus_per_trial=cpus_per_trial, ray_address=ray_address,
        checkpoint_dir=checkpoint_dir, heartbeat_s=heartbeat, warm_start=warm_start,
    )  # fmt: skip
    _print_summary(run_search(options))


def _print_summary(result: optuna.Study) -> None:
    """The best ten trials, the best one's config, and the gain over the published designs."""
    import yaml
    from optuna.trial import TrialState

    from search.trial import CONFIG, N_PARAMS
    from search.views.export import best_trial
    from search.views.gain import standard_error, val_size_of
    from search.views.table import trials_table

    stdout.print(trials_table(result, best=10))
    if not result.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):  # --timeout, say
        stdout.print("no trial has completed yet: the same command goes on from here")
        return
    trial = best_trial(result)
    images = val_size_of(result)
    noise = ""
    if images:
        noise = f" (standard error {standard_error(trial.value, images):.4f}, {images:,} images)"
    stdout.print(
        f"best: trial {trial.number}, val acc {trial.value:.4f}{noise}, "
        f"{trial.user_attrs[N_PARAMS]:,} params"
    )
    stdout.print(yaml.safe_dump(trial.user_attrs[CONFIG], sort_keys=False))
    _print_gain(result)


def _print_gain(study: optuna.Study) -> None:
    from search.views.gain import gain, val_size_of

    said = gain(study.get_trials(deepcopy=False), val_size_of(study))
    if said is not None:
        stdout.print(said.line())


def status(
    study: Study = None,
    storage: Storage = None,
    best: Annotated[
        int | None,
        typer.Option(help="Show only the best N trials. [default: all]", show_default=False),
    ] = None,
) -> None:
    """Table of a study's trials: state, validation accuracy, parameters, duration, config."""
    from search.study import load_study
    from search.views.table import trials_table
    from storage import open_storage

    if best is not None and best < 1:
        raise UserError(f"--best must be a number of trials >= 1, got {best}")
    loaded = load_study(open_storage(storage, must_exist=True), study)
    stdout.print(trials_table(loaded, best=best))
    _print_gain(loaded)


def export(
    study: Study = None,
    storage: Storage = None,
    out: Annotated[
        Path, typer.Option("-o", "--out", help="YAML, or JSON if it ends in .json (any case).")
    ] = (Path("best.yaml")),
) -> None:
    """Write the best trial's full config, metrics and provenance."""
    from search.study import load_study
    from search.views.export import best_trial, export_document, write_document
    from storage import open_storage

    opened = open_storage(storage, must_exist=True)
    loaded = load_study(opened, study)
    trial = best_trial(loaded)
    path = write_document(export_document(loaded, trial, opened), out)
    log(f"trial {trial.number} (val acc {trial.value:.4f}) written to {path}")


def report(
    study: Study = None,
    storage: Storage = None,
    out: Annotated[Path, typer.Option(help="Directory for trials.csv, plots, index.html.")] = (
        Path("report")
    ),
) -> None:
    """Write trials.csv, PNG plots and an index.html for a study."""
    from search.study import load_study
    from search.views.report import write_report  # matplotlib and pandas: only when asked
    from storage import open_storage

    written = write_report(load_study(open_storage(storage, must_exist=True), study), out)
    log(f"wrote {len(written)} files; open {out / 'index.html'}")

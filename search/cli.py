"""The `search` command: one typed function per subcommand, each a thin call into the library."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Annotated

import optuna
import typer
import yaml

from search import cli_model
from search.algorithms import PRUNERS
from search.cli_options import DataDir, Device, Precision, Storage, Study
from search.dashboard import serve_dashboard
from search.export import best_trial, export_document, write_document
from search.progress import log, stdout
from search.report import write_report
from search.spaces_info import describe_spaces
from search.study import DEFAULT_BUDGET, RunOptions, load_study, run_search
from search.summary import describe_model, trials_table
from storage import resolve_url
from trainers import (
    UserError,
    count_params,
    load_config,
    param_counts,
)

__all__ = ["app", "main"]

app = typer.Typer(
    help="Find the best CIFAR-10 ResNet under a parameter budget (Optuna + Ray).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
_debug = False


@app.callback()
def _options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
) -> None:
    global _debug
    _debug = debug


@app.command()
def run(
    space: Annotated[str, typer.Option(help="Registered space name or path to a .py file.")] = (
        "resnet_budget"
    ),
    study: Annotated[str | None, typer.Option(help="Study name [default: the space name].")] = None,
    trials: Annotated[int, typer.Option(help="Trained trials (complete or pruned) to reach.")] = 20,
    budget: Annotated[int, typer.Option(help="Most trainable parameters a model may have.")] = (
        DEFAULT_BUDGET
    ),
    storage: Storage = None,
    pruner: Annotated[str, typer.Option(help=f"One of: {', '.join(PRUNERS)}.")] = "sha",
    epochs: Annotated[
        int | None,
        typer.Option(
            help="Epochs per trial [default: 30 on a GPU, 2 on a CPU].", show_default=False
        ),
    ] = None,
    train_subset: Annotated[
        int | None,
        typer.Option(
            help="Training images per epoch, 0 = all [default: 0 on a GPU, 1000 on a CPU].",
            show_default=False,
        ),
    ] = None,
    val_size: Annotated[
        int | None,
        typer.Option(
            help="Training images held out to validate [default: 5000 on a GPU, 1000 on a CPU].",
            show_default=False,
        ),
    ] = None,
    data_dir: DataDir = None,
    device: Device = None,
    precision: Precision = "auto",
    seed: Annotated[int | None, typer.Option(help="Sampler seed.")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Trials at once, on Ray when more than 1 [default: one per GPU, 1 without].",
            show_default=False,
        ),
    ] = None,
    gpus_per_trial: Annotated[
        float | None,
        typer.Option(
            help="GPUs each trial holds; 0.5 puts two trials on a GPU [default: 1 "
            "when there are GPUs, else 0].",
            show_default=False,
        ),
    ] = None,
    cpus_per_trial: Annotated[
        float | None,
        typer.Option(
            help="CPUs each trial holds [default: 1 with GPUs, else the CPUs shared out].",
            show_default=False,
        ),
    ] = None,
    checkpoint_dir: Annotated[
        Path | None,
        typer.Option(
            help="Trial checkpoints go under DIR/STUDY [default: beside the SQLite "
            "file, else ./checkpoints]; shared by all nodes of a cluster.",
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
            help="Join this Ray cluster (HOST:6379, or auto) instead of starting a local Ray.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Start or resume a study and run it until it holds --trials trained trials."""
    options = RunOptions(
        space=space, study=study, trials=trials, budget=budget, storage=storage, pruner=pruner,
        epochs=epochs, train_subset=train_subset, val_size=val_size, data_dir=data_dir,
        device=device, precision=precision, seed=seed, workers=workers,
        gpus_per_trial=gpus_per_trial, cpus_per_trial=cpus_per_trial, ray_address=ray_address,
        checkpoint_dir=checkpoint_dir, heartbeat_s=heartbeat,
    )  # fmt: skip
    result = run_search(options)
    stdout.print(trials_table(result, best=10))
    trial = best_trial(result)
    stdout.print(
        f"best: trial {trial.number}, val acc {trial.value:.4f}, "
        f"{trial.user_attrs['n_params']:,} params"
    )
    stdout.print(yaml.safe_dump(trial.user_attrs["config"], sort_keys=False))


@app.command()
def status(
    study: Study,
    storage: Storage = None,
    best: Annotated[int | None, typer.Option(help="Show only the best N trials.")] = None,
) -> None:
    """Table of a study's trials: state, validation accuracy, parameters, duration, config."""
    stdout.print(trials_table(load_study(storage, study), best=best))


@app.command()
def export(
    study: Study,
    storage: Storage = None,
    out: Annotated[Path, typer.Option("-o", "--out", help="YAML, or JSON if it ends in .json.")] = (
        Path("best.yaml")
    ),
) -> None:
    """Write the best trial's full config, metrics and provenance."""
    loaded = load_study(storage, study)
    trial = best_trial(loaded)
    path = write_document(export_document(loaded, trial, resolve_url(storage)), out)
    log(f"trial {trial.number} (val acc {trial.value:.4f}) written to {path}")


@app.command()
def params(
    file: Annotated[Path, typer.Argument(help="A config or an export (YAML or JSON).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Exact trainable-parameter count of a config's model; nothing is built or trained."""
    config = load_config(file)
    n = count_params(config.model)
    if as_json:
        parts = param_counts(config.model)
        stdout.print_json(
            json.dumps({"n_params": n, "parts": parts, "model": config.to_dict()["model"]})
        )
    else:
        stdout.print(f"{n:,} trainable parameters ({describe_model(config.to_dict())})")


@app.command()
def dashboard(
    study: Annotated[str | None, typer.Option(help="Open this study's page.")] = None,
    storage: Storage = None,
    host: Annotated[str, typer.Option(help="Address to listen on; loopback by default.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
) -> None:
    """Serve optuna-dashboard on the storage the runs use."""
    serve_dashboard(storage, study, host, port)


@app.command()
def report(
    study: Study,
    storage: Storage = None,
    out: Annotated[Path, typer.Option(help="Directory for trials.csv, plots, index.html.")] = (
        Path("report")
    ),
) -> None:
    """Write trials.csv, PNG plots and an index.html for a study."""
    written = write_report(load_study(storage, study), out)
    log(f"wrote {len(written)} files; open {out / 'index.html'}")


app.command("train")(cli_model.train)
app.command()(cli_model.evaluate)
app.command()(cli_model.predict)


@app.command("spaces")
def spaces_() -> None:
    """Registered search spaces and what each samples."""
    stdout.print(describe_spaces())


def main() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    try:
        app()
    except UserError as err:
        if _debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)

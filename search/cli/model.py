"""`search params`, `train`, `evaluate`, `predict`: from an exported config to a submission.

Thin typed functions over trainers (retrain, evaluation); they need no study. Each imports what
it runs in its body: `params` reads and counts without torch; the others load torch, pandas and
matplotlib when they run, not when `search` starts.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from errors import ConfigError, DivergedError, UserError
from search.cli.options import Compile, CudaGraphs, DataDir, Device, Precision
from search.console import epoch_lines, epoch_progress, log, stdout, step
from trainers import count_params, load_config, param_counts
from trainers.config import MAX_EPOCHS, RETRAIN_EPOCHS, TRAIN_IMAGES, TrainConfig
from trainers.outputs import EVALUATION_FILES, output_dir, output_file, to_json

__all__ = ["evaluate", "params", "predict", "train"]

Run = Annotated[
    Path, typer.Argument(help="The --out directory of `search train`, or its model.pt.")
]
ConfigFile = Annotated[Path, typer.Argument(help="A config or an export (YAML or JSON).")]


def params(
    file: ConfigFile,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Exact trainable-parameter count of a config's model; nothing is built or trained."""
    from search.views.model import describe_model

    config = load_config(file)
    n = count_params(config.model)
    if as_json:  # "n_params" as a trial records it, spelt out: search.trial loads Optuna
        model = config.to_dict()["model"]
        document = {"n_params": n, "parts": param_counts(config.model), "model": model}
        stdout.print_json(json.dumps(document))
    else:
        stdout.print(f"{n:,} trainable parameters ({describe_model(config.to_dict())})")


def _train_config(
    file: Path, epochs: int | None, train_subset: int, merge_val: bool, ema: float | None
) -> TrainConfig:
    """The config of `file` with the options of `search train`, each checked by its name."""
    from trainers.retrain import full_fidelity

    if epochs is not None and not 1 <= epochs <= MAX_EPOCHS:
        raise UserError(f"--epochs must be 1 to {MAX_EPOCHS:,}, got {epochs}")
    if ema is not None and not 0.0 <= ema < 1.0:  # NaN too
        raise UserError(f"--ema must be 0 (off) or a decay in (0, 1), got {ema}")
    config = load_config(file)
    available = TRAIN_IMAGES if merge_val else TRAIN_IMAGES - config.data.val_size
    if not 0 <= train_subset <= available:
        held = "" if merge_val else f" ({TRAIN_IMAGES:,} minus the config's val_size)"
        raise UserError(f"--train-subset must be 0 (all) to {available:,}{held}, "
                        f"got {train_subset}")  # fmt: skip
    return full_fidelity(config, epochs, train_subset, merge_val, ema)


def train(
    file: ConfigFile,
    epochs: Annotated[
        int | None,
        typer.Option(
            help=f"Epochs to train. [default: {RETRAIN_EPOCHS}, as published recipes do; not "
            "the few of the search's trials]",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Output directory. [default: runs/FILE-STEM]", show_default=False),
    ] = None,
    train_subset: Annotated[
        int, typer.Option(help="Train on this many images only, for a quick check; 0 = all.")
    ] = 0,
    merge_val: Annotated[
        bool, typer.Option("--merge-val", help="Train on the validation images too.")
    ] = False,
    ema: Annotated[
        float | None,
        typer.Option(
            help="Keep a moving average of the weights with this decay per step "
            "(e.g. 0.999) and save it; 0 = off. [default: the config's]",
            show_default=False,
        ),
    ] = None,
    tta: Annotated[
        bool,
        typer.Option("--tta", help="Also score the test set with flip test-time augmentation."),
    ] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Go on from OUT/checkpoint.pt of an interrupted run.")
    ] = False,
    data_dir: DataDir = None,
    device: Device = None,
    precision: Precision = "auto",
    compile: Compile = False,
    cuda_graphs: CudaGraphs = None,
) -> None:
    """Retrain a config on the full training split and report its test accuracy."""
    from trainers import autocast_dtype, resolve_device
    from trainers.data import find_cifar10, load_cifar10
    from trainers.device import numerics
    from trainers.memory import check_fits
    from trainers.retrain import prepare_out, retrain
    from trainers.step import use_graphs

    config = _train_config(file, epochs, train_subset, merge_val, ema)
    resolved = resolve_device(device)
    dtype = autocast_dtype(resolved, precision)
    check_fits(config, resolved, dtype)  # before it loads data
    graphs = use_graphs(cuda_graphs, resolved, dtype, compile)
    again = [a for a in sys.argv[1:] if a != "--resume"]  # Ctrl-C's hint: this, --resume
    if out is None:
        out = Path("runs") / file.stem
        again += ["--out", str(out)]
    folder = find_cifar10(data_dir)  # a --data-dir without CIFAR-10: refused before OUT is made
    checkpoint = prepare_out(out, config, resume, numerics(resolved, dtype))  # before loading
    log(_describe(config, folder, out, epochs is None))
    with step(f"loading CIFAR-10 onto {resolved}") as loading:
        load_cifar10(folder, resolved, loading)  # kept: training reuses it
    scoring = "scoring the test set" + (", then with TTA" if tta else "")
    try:
        with epoch_progress(config.epochs) as batches, step(scoring) as progress:
            result = retrain(config, checkpoint, epoch_lines(config.epochs), data_dir=folder,
                             device=device, precision=precision, tta=tta, progress=progress,
                             batches_done=batches, compile=compile, graphs=graphs)  # fmt: skip
    except KeyboardInterrupt:  # the same command, with --resume: the same config to go on
        if checkpoint.is_file():
            log(f"interrupted; go on with: {shlex.join(['search', *again, '--resume'])}")
        else:
            log("interrupted before its first epoch was saved: nothing to resume")
        raise
    except DivergedError as err:
        raise ConfigError(f"{file}: training diverged ({err}); allowed: a config that trains, "
                          "e.g. a smaller optim.lr or weight_decay") from None  # fmt: skip
    tta_text = f", with TTA {result['test_tta_accuracy']:.4f}" if tta else ""
    n, wall_s = result["n_params"], result["wall_s"]
    stdout.print(f"test accuracy {result['test_accuracy']:.4f}{tta_text}  "
                 f"({n:,} params, trained in {wall_s:.0f} s)")  # fmt: skip
    log(f"model {out / 'model.pt'}, metrics {out / 'metrics.json'}, curves {out / 'curves.png'}")


def _describe(config: TrainConfig, folder: Path, out: Path, default_epochs: bool) -> str:
    """What `search train` is about to do, in one line."""
    held_out = 0 if config.data.merge_val else config.data.val_size
    images = config.data.train_subset or TRAIN_IMAGES - held_out
    length = f"{config.epochs} epoch{'s' * (config.epochs != 1)}"
    length += " (the default; --epochs to change)" if default_epochs else ""
    validation = f"validated on {held_out:,} held-out images" if held_out else "none held out"
    return (f"training {count_params(config.model):,} parameters for {length} on {images:,} "
            f"images from {folder}, {validation}; the time left shows after each epoch; "
            f"writing to {out}")  # fmt: skip


def evaluate(
    run: Run,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Directory for confusion.png and evaluation.json. [default: the run's]",
            show_default=False,
        ),
    ] = None,
    data_dir: DataDir = None,
    device: Device = None,
    precision: Precision = "auto",
) -> None:
    """Test accuracy with and without TTA, per-class accuracy, and a confusion matrix."""
    from trainers import resolve_device
    from trainers.data import CLASSES, load_cifar10
    from trainers.device import check_precision
    from trainers.evaluation import evaluate_run, load_run, model_file
    from trainers.plots import save_confusion

    file = model_file(run)
    out = output_dir(out or file.parent, EVALUATION_FILES, "--out")  # before minutes of scoring
    resolved = resolve_device(device)
    check_precision(precision)  # before the data loads
    trained = load_run(file, resolved)  # a file that is no model fails here, in one line
    with step(f"loading CIFAR-10 onto {resolved}") as loading:
        load_cifar10(data_dir, resolved, loading)  # kept: the scoring reuses it
    with step(f"scoring {file} on the CIFAR-10 test set, then with TTA") as progress:
        scores = evaluate_run(trained, data_dir, resolved, precision, progress)
    plain, tta = scores["plain"], scores["tta"]
    table = Table(title=f"{trained.n_params:,} parameters: test accuracy per class")
    for column in ("class", "accuracy", "with TTA"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for name in CLASSES:
        table.add_row(name, f"{plain.per_class[name]:.4f}", f"{tta.per_class[name]:.4f}")
    table.add_row("all", f"{plain.accuracy:.4f}", f"{tta.accuracy:.4f}", style="bold")
    stdout.print(table)
    save_confusion(tta.confusion, CLASSES, out / "confusion.png",
                   f"Test set, with TTA: accuracy {tta.accuracy:.4f}")  # fmt: skip
    document = {"n_params": trained.n_params, "classes": list(CLASSES),
                **{name: dataclasses.asdict(s) for name, s in scores.items()}}  # fmt: skip
    (out / "evaluation.json").write_text(to_json(document))
    log(f"confusion matrix {out / 'confusion.png'}, figures {out / 'evaluation.json'}")


def predict(
    run: Run,
    input_: Annotated[
        Path,
        typer.Option(
            "--input",
            help="A pickle with b'data' (N x 32 x 32 x 3 or N x 3072 uint8) and b'ids' (N "
            "distinct integers or strings), or a folder of 32x32 images. Unpickling a file can "
            "run code: only plain containers, numbers, strings and numpy arrays are loaded, but "
            "pass only pickles you trust.",
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="CSV to write.")] = Path(
        "submission.csv"
    ),
    tta: Annotated[bool, typer.Option(help="Average with the mirror image's prediction.")] = True,
    device: Device = None,
    precision: Precision = "auto",
) -> None:
    """Classify images and write a CSV with columns ID,Labels (classes 0-9), in input order."""
    from trainers.data import CLASSES
    from trainers.evaluation import predict_inputs

    output_file(output, "--output")
    with step(f"classifying {input_}" + (" and its mirror images" if tta else "")) as progress:
        frame = predict_inputs(run, input_, device, precision, tta, progress)
    try:
        frame.to_csv(output, index=False)
    except OSError as err:
        raise UserError(f"cannot write {output}: {err.strerror}") from None
    counts = frame["Labels"].value_counts().sort_index()
    spread = ", ".join(f"{CLASSES[k]} {v}" for k, v in counts.items())
    log(f"wrote {len(frame):,} predictions to {output} ({spread})")

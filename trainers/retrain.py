"""Retraining a chosen config at full fidelity, scoring it once on the test set, saving it.

A run's --out directory holds checkpoint.pt while it trains (every epoch; `resume` goes on from
it), then model.pt (config and weights), metrics.json and curves.png; the files `search evaluate`
wrote there for a model trained before are removed when the new model.pt replaces it.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from errors import UserError
from trainers.checkpoint import check
from trainers.config import RETRAIN_EPOCHS, TrainConfig
from trainers.data import split
from trainers.evaluation import MODEL_FILE, StepProgress, save_run, score_test_set
from trainers.loop import BatchProgress, Report, fit, prepare
from trainers.outputs import EVALUATION_FILES, output_dir, to_json
from trainers.plots import save_curves

__all__ = ["CHECKPOINT_FILE", "full_fidelity", "prepare_out", "retrain"]

CHECKPOINT_FILE = "checkpoint.pt"
RUN_FILES = (
    CHECKPOINT_FILE,
    f"{CHECKPOINT_FILE}.partial",
    MODEL_FILE,
    "metrics.json",
    "curves.png",
    *EVALUATION_FILES,  # removed: they scored the model this run replaces
)


def full_fidelity(
    config: TrainConfig,
    epochs: int | None = None,
    train_subset: int = 0,
    merge_val: bool = False,
    ema: float | None = None,
) -> TrainConfig:
    """`config` trained on every training image that is not held out (or `train_subset` of
    them, for a quick check; or on the held-out ones too with `merge_val`), for `epochs`
    (default `RETRAIN_EPOCHS`) and with weight averaging `ema` if given."""
    data = dataclasses.replace(config.data, train_subset=train_subset, merge_val=merge_val)
    return dataclasses.replace(
        config,
        data=data,
        epochs=epochs or RETRAIN_EPOCHS,
        ema=config.ema if ema is None else ema,
    )


def prepare_out(out: Path, config: TrainConfig, resume: bool, run: dict[str, str]) -> Path:
    """Make the output directory and check that the run's files can be written there; return
    its checkpoint path, checked if resuming (before the minutes of loading: the right run,
    intact, written in `run`'s numerics: `trainers.device.numerics`), else cleared."""
    checkpoint = out / CHECKPOINT_FILE
    if resume:
        if not checkpoint.is_file():
            raise UserError(
                f"--resume: no {CHECKPOINT_FILE} in {out}; allowed: the --out directory of an "
                "interrupted `search train`"
            )
        check(checkpoint, config, run)
    output_dir(out, RUN_FILES, "--out")
    if not resume:
        try:
            checkpoint.unlink(missing_ok=True)
        except OSError as err:
            raise UserError(f"--out {out}: cannot remove {checkpoint} ({err.strerror}); allowed: "
                            "a directory you can write to") from None  # fmt: skip
    return checkpoint


def retrain(
    config: TrainConfig,
    checkpoint: Path,
    report: Report | None = None,
    *,
    data_dir: str | Path | None = None,
    device: str | None = None,
    precision: str = "auto",
    tta: bool = False,
    progress: StepProgress | None = None,
    batches_done: BatchProgress | None = None,
    compile: bool = False,
    graphs: bool = False,
) -> dict:
    """Train `config`, score it on the 10,000 test images (also with flip TTA if `tta`), write
    model.pt, metrics.json and curves.png beside `checkpoint` (and remove the evaluation files
    of the model it replaces). Returns the metrics written.

    `checkpoint` is what `prepare_out` returned: a run it holds (resuming) goes on from it.
    The per-epoch reports validate on the held-out split (none with `merge_val`), comparable
    with the search's. `progress` hears how the test set's scoring goes (`score_test_set`),
    `batches_done` how each epoch goes (`fit`); `compile` compiles the model's forward and
    `graphs` replays each step as a CUDA graph (`fit`)."""
    out = checkpoint.parent
    start = time.perf_counter()
    data, dtype = prepare(data_dir, device, precision)
    held = split(data, config.data)
    set_up_s = time.perf_counter() - start
    model, metrics = fit(config, held, report, dtype, checkpoint, batches_done, compile, graphs)
    result = {**dataclasses.asdict(metrics), "wall_s": set_up_s + metrics.wall_s}  # resumed: all
    passes = [("test", False), ("test_tta", True)][: 2 if tta else 1]
    for name, scores in score_test_set(model, data, dtype, passes, progress).items():
        result[f"{name}_accuracy"] = scores.accuracy
    result["config"] = config.to_dict()
    for name in EVALUATION_FILES:  # an earlier model's scores: not this one's
        (out / name).unlink(missing_ok=True)
    save_run(out / MODEL_FILE, config, model)
    (out / "metrics.json").write_text(to_json(result))
    length = f"{config.epochs} epoch{'s' * (config.epochs != 1)}"
    save_curves(metrics.history, out / "curves.png", f"{metrics.n_params:,} parameters, "
                f"{length}: test accuracy {result['test_accuracy']:.4f}")  # fmt: skip
    checkpoint.unlink()  # model.pt holds the weights; the run is done
    return result

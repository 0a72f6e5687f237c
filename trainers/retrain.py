"""Retraining a chosen config at full fidelity, scoring it once on the test set, saving it."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import torch

from trainers.checkpoint import check
from trainers.config import TrainConfig
from trainers.data import split
from trainers.errors import UserError
from trainers.train import Report, evaluate, fit, prepare

__all__ = ["full_fidelity", "retrain"]


def full_fidelity(
    config: TrainConfig, epochs: int | None = None, train_subset: int = 0
) -> TrainConfig:
    """`config` trained on every training image that is not held out (or `train_subset` of
    them, for a quick check), for `epochs` if given."""
    data = dataclasses.replace(config.data, train_subset=train_subset)
    return dataclasses.replace(config, data=data, epochs=epochs or config.epochs)


def prepare_out(out: Path, config: TrainConfig, resume: bool) -> Path:
    """Make the output directory; return its checkpoint path, checked if resuming (before the
    minutes of loading: the right run, intact), else cleared."""
    checkpoint = out / "checkpoint.pt"
    if resume:
        if not checkpoint.is_file():
            raise UserError(
                f"--resume: no checkpoint.pt in {out}; allowed: the --out directory of an "
                "interrupted `search train`"
            )
        check(checkpoint, config)
    try:
        out.mkdir(parents=True, exist_ok=True)
        if not resume:
            checkpoint.unlink(missing_ok=True)
    except OSError as err:
        raise UserError(f"cannot write to output directory {out}: {err.strerror}") from None
    return checkpoint


def retrain(
    config: TrainConfig,
    out_dir: str | Path,
    report: Report | None = None,
    *,
    data_dir: str | Path | None = None,
    device: str | torch.device | None = None,
    precision: str = "auto",
    resume: bool = False,
) -> dict:
    """Train `config`, evaluate on the 10,000 test images, write model.pt and metrics.json.

    The validation split stays held out, so the per-epoch reports are comparable with the
    search's. Every epoch is checkpointed to OUT/checkpoint.pt; with `resume`, an interrupted
    run goes on from there. Returns the metrics written.
    """
    out = Path(out_dir)
    checkpoint = prepare_out(out, config, resume)
    start = time.perf_counter()
    data, dtype = prepare(data_dir, device, precision)
    model, metrics = fit(config, split(data, config.data), report, dtype, checkpoint)
    test_accuracy, test_loss = evaluate(model, data.test_images, data.test_labels, dtype)
    result = {
        **dataclasses.asdict(metrics),
        "wall_s": time.perf_counter() - start,
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
        "config": config.to_dict(),
    }
    state = {k: v.cpu() for k, v in model.state_dict().items()}
    torch.save(
        {"config": config.to_dict(), "n_params": metrics.n_params, "state_dict": state},
        out / "model.pt",
    )
    (out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    checkpoint.unlink()  # model.pt holds the weights; the run is done
    return result

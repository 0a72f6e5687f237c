"""Retraining a chosen config at full fidelity, scoring it once on the test set, saving it."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import torch

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


def retrain(
    config: TrainConfig,
    out_dir: str | Path,
    report: Report | None = None,
    *,
    data_dir: str | Path | None = None,
    device: str | torch.device | None = None,
    precision: str = "auto",
) -> dict:
    """Train `config`, evaluate on the 10,000 test images, write model.pt and metrics.json.

    The validation split stays held out, so the per-epoch reports are comparable with the
    search's. Returns the metrics written.
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"cannot create output directory {out}: {err.strerror}") from None
    start = time.perf_counter()
    data, dtype = prepare(data_dir, device, precision)
    model, metrics = fit(config, split(data, config.data), report, dtype)
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
    return result

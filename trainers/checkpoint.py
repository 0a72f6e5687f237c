"""Checkpoints of a training run: everything needed to go on exactly where it stopped.

One file per run, replaced atomically after every epoch: the model, optimizer, schedule and
loss-scaler states, every random generator the run draws from, the epoch and the per-epoch
validation history. It also holds the config and the numerics (device type, precision), and is
only ever resumed with those same ones: anything else would not go on as the run would have.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from errors import UserError
from trainers.config import TrainConfig

if TYPE_CHECKING:
    from trainers.state import TrainState

__all__ = ["Progress", "check", "load_file", "restore", "save"]

FORMAT = 1


@dataclass
class Progress:
    """How far a run got; saved with the states."""

    epoch: int = 0  # last finished epoch
    seen: int = 0  # training images processed
    train_s: float = 0.0  # seconds spent training (evaluation excluded)
    wall_s: float = 0.0  # seconds `fit` ran, in every process, through the last saved epoch
    history: list[dict[str, float]] = field(default_factory=list)  # figures of each epoch


def save(
    path: Path, config: TrainConfig, state: TrainState, generator: torch.Generator,
    progress: Progress,
) -> None:  # fmt: skip
    """Write the checkpoint next to `path` and move it into place, so a crash never leaves a
    half-written file where a whole one was. Of the CUDA generators, the run's GPU's only: a
    resume may see other GPUs, or fewer, and a run on the CPU leaves CUDA alone."""
    device = state.sums.device
    document = {
        "format": FORMAT,
        "config": config.to_dict(),
        "numerics": state.numerics,
        "progress": dataclasses.asdict(progress),
        "states": state.state_dict(),
        "rng": {
            "torch": torch.get_rng_state(),
            "cuda": [torch.cuda.get_rng_state(device)] if device.type == "cuda" else [],
            "batches": generator.get_state(),
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    torch.save(document, partial)
    os.replace(partial, path)


def load_file(path: Path, kind: str, keys: set[str], allowed: str = "") -> dict[str, Any]:
    """A dict saved by torch.save that holds `keys`, loaded on the CPU without running code
    (weights_only); a truncated or foreign file (a pickle, a YAML export: anything but the zip
    archive torch.save writes) is a UserError naming it as not a `kind`."""
    suffix = f"; {allowed}" if allowed else ""
    if not zipfile.is_zipfile(path):  # torch.load would read it as a pickle: warnings, crashes
        raise UserError(
            f"{path} is truncated or not a {kind} (not a file torch.save wrote){suffix}"
        )
    try:
        with warnings.catch_warnings():  # its warnings are about the file: said in one line below
            warnings.simplefilter("ignore")
            document = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as err:
        raise UserError(f"{path} is truncated or not a {kind} ({_why(err)}){suffix}") from None
    if not isinstance(document, dict) or not keys <= document.keys():
        raise UserError(f"{path} is not a {kind} of this program{suffix}")
    return document


def _why(err: Exception) -> str:
    """torch.load's reason in a few words, without its advice to load the file unsafely."""
    text = str(err).strip()
    if not text.startswith("Weights only load failed"):
        return text.splitlines()[0]
    detail = text.partition("WeightsUnpickler error: ")[2].strip()
    return "it holds more than tensors and plain data" + (
        f": {detail.splitlines()[0]}" * bool(detail)
    )


def _read(path: Path) -> dict[str, Any]:
    document = load_file(path, "checkpoint", {"format", "config"})
    if document["format"] != FORMAT:
        raise UserError(f"{path} is not a checkpoint of this program (format {FORMAT})")
    return document


def _first_difference(a: object, b: object, where: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{where}.{key}".lstrip("."))
    return where or "config"


def _matching(path: Path, config: TrainConfig, run: dict[str, str]) -> dict[str, Any]:
    document = _read(path)
    if document["config"] != config.to_dict():
        key = _first_difference(document["config"], config.to_dict())
        raise UserError(
            f"checkpoint {path} was written for another config ({key} differs); allowed: "
            "resuming the config it was written for, or starting elsewhere"
        )
    written = document.get("numerics", run)  # unrecorded by earlier versions: as before
    if written != run:
        device, precision = written["device"], written["precision"]
        raise UserError(
            f"checkpoint {path} was written training on {device} in {precision}, not on "
            f"{run['device']} in {run['precision']}; allowed: resuming it with --device "
            f"{device} --precision {precision}, or starting elsewhere"
        )
    return document


def check(path: Path, config: TrainConfig, run: dict[str, str]) -> int:
    """The last epoch `path` holds for `config` trained in `run`'s numerics; UserError if it
    cannot resume it (truncated, not a checkpoint, written for another config or numerics)."""
    return int(_matching(path, config, run)["progress"]["epoch"])


def restore(
    path: Path, config: TrainConfig, state: TrainState, generator: torch.Generator
) -> Progress:
    """Load the checkpoint at `path` into `state` and the random generators, as `check` says."""
    document = _matching(path, config, state.numerics)
    state.load_state_dict(document["states"])
    torch.set_rng_state(document["rng"]["torch"])
    cuda, device = document["rng"]["cuda"], state.sums.device
    if cuda and device.type == "cuda":  # the run's GPU's (files of earlier versions: each GPU's)
        index = device.index or 0
        torch.cuda.set_rng_state(cuda[index] if index < len(cuda) else cuda[0], device)
    generator.set_state(document["rng"]["batches"])
    return Progress(**document["progress"])

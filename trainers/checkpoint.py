"""Checkpoints of a training run: everything needed to go on exactly where it stopped.

One file per run, replaced atomically after every epoch: the model, optimizer, schedule and
loss-scaler states, every random generator the run draws from, the epoch and the per-epoch
validation history. It also holds the config, and is only ever resumed with that same config.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from trainers.config import TrainConfig
from trainers.errors import UserError

__all__ = ["Progress", "check", "restore", "save"]

FORMAT = 1


@dataclass
class Progress:
    """How far a run got; saved with the states."""

    epoch: int = 0  # last finished epoch
    seen: int = 0  # training images processed
    train_s: float = 0.0  # seconds spent training (evaluation excluded)
    history: list[dict[str, float]] = field(default_factory=list)  # figures of each epoch


def save(
    path: Path, config: TrainConfig, parts: dict[str, Any], generator: torch.Generator,
    progress: Progress,
) -> None:  # fmt: skip
    """Write the checkpoint next to `path` and move it into place, so a crash never leaves a
    half-written file where a whole one was."""
    state = {
        "format": FORMAT,
        "config": config.to_dict(),
        "progress": dataclasses.asdict(progress),
        "states": {name: part.state_dict() for name, part in parts.items()},
        "rng": {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "batches": generator.get_state(),
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    torch.save(state, partial)
    os.replace(partial, path)


def _read(path: Path) -> dict[str, Any]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as err:
        reason = str(err).strip().splitlines()[0]
        raise UserError(f"checkpoint {path} is truncated or not a checkpoint ({reason})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise UserError(f"checkpoint {path} is not a checkpoint of this program")
    return state


def _first_difference(a: object, b: object, where: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{where}.{key}".lstrip("."))
    return where or "config"


def _matching(path: Path, config: TrainConfig) -> dict[str, Any]:
    state = _read(path)
    if state["config"] != config.to_dict():
        key = _first_difference(state["config"], config.to_dict())
        raise UserError(
            f"checkpoint {path} was written for another config ({key} differs); allowed: "
            "resuming the config it was written for, or starting elsewhere"
        )
    return state


def check(path: Path, config: TrainConfig) -> int:
    """The last epoch `path` holds for `config`; UserError if it cannot resume it (truncated,
    not a checkpoint, or written for another config)."""
    return int(_matching(path, config)["progress"]["epoch"])


def restore(
    path: Path, config: TrainConfig, parts: dict[str, Any], generator: torch.Generator
) -> Progress:
    """Load the checkpoint at `path` into `parts` and the random generators, as `check` says."""
    state = _matching(path, config)
    for name, part in parts.items():
        part.load_state_dict(state["states"][name])
    torch.set_rng_state(state["rng"]["torch"])
    if state["rng"]["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["rng"]["cuda"])
    generator.set_state(state["rng"]["batches"])
    return Progress(**state["progress"])

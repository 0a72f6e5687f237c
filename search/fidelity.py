"""How much training a trial gets: epochs, training images per epoch, held-out images."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from errors import UserError
from trainers import TrainConfig
from trainers.config import MAX_EPOCHS, TRAIN_IMAGES

if TYPE_CHECKING:
    import torch

__all__ = ["Fidelity", "default_fidelity"]

# On a CPU: of six cheap fidelities, the one that ranked 16 configs most like a run 12 to 24
# times longer (Spearman 0.90 against 0.69 for 2 epochs on 1,000 images; BENCHMARKS.md)
CPU_EPOCHS = 2
CPU_TRAIN_SUBSET = 2_000
CPU_VAL_SIZE = 1_000  # evaluating 5,000 images twice would cost more than the training
VAL_SIZE = 5_000
GPU_EPOCHS = 30
LOW_SHARE = 0.1  # below this share of a GPU trial's training images, the run says so


@dataclass(frozen=True)
class Fidelity:
    """The training every trial of a study gets, unless the pruner stops it sooner."""

    epochs: int  # epochs of a trial the pruner lets finish (its maximum resource)
    train_subset: int  # training images per epoch; 0 = all that are not held out
    val_size: int = 5_000  # training images held out to validate every epoch

    def __post_init__(self) -> None:
        if not 1 <= self.epochs <= MAX_EPOCHS:
            raise UserError(f"--epochs must be 1 to {MAX_EPOCHS:,}, got {self.epochs}")
        if not 1 <= self.val_size < TRAIN_IMAGES:
            raise UserError(f"--val-size must be 1 to {TRAIN_IMAGES - 1:,}, got {self.val_size}")
        available = TRAIN_IMAGES - self.val_size
        if not 0 <= self.train_subset <= available:
            raise UserError(
                f"--train-subset must be 0 (all) to {available:,}, got {self.train_subset}"
            )

    def apply(self, config: TrainConfig) -> TrainConfig:
        """`config` with this fidelity's epochs and data split: a trial always validates on
        held-out images (a space's `merge_val` would leave it no accuracy to rank it by)."""
        data = dataclasses.replace(
            config.data, train_subset=self.train_subset, val_size=self.val_size, merge_val=False
        )
        return dataclasses.replace(config, epochs=self.epochs, data=data)

    def describe(self) -> str:
        available = TRAIN_IMAGES - self.val_size
        images = f"{self.train_subset:,}" if self.train_subset else f"all {available:,}"
        return (
            f"{self.epochs} epoch{'s' * (self.epochs != 1)} on {images} training images, "
            f"validated on {self.val_size:,} held-out images"
        )

    def caveat(self) -> str | None:
        """What a user must know when trials see a small share of a GPU trial's images."""
        seen = self.epochs * (self.train_subset or TRAIN_IMAGES - self.val_size)
        share = seen / (GPU_EPOCHS * (TRAIN_IMAGES - VAL_SIZE))
        if share >= LOW_SHARE:
            return None
        return (
            f"low fidelity: a trial trains on {seen:,} images in all, {100 * share:.2g}% of what "
            f"it gets on a GPU ({GPU_EPOCHS} epochs on all {TRAIN_IMAGES - VAL_SIZE:,}); its "
            "accuracy is far below a full training's and serves to rank configs, so retrain "
            "the best with `search train`, or run the search where CUDA is"
        )


def default_fidelity(
    device: torch.device,
    epochs: int | None = None,
    train_subset: int | None = None,
    val_size: int | None = None,
) -> Fidelity:
    """The given knobs, the rest defaulted for `device`: full data on a GPU, a slice on a CPU."""
    cuda = device.type == "cuda"
    if epochs is None:
        epochs = GPU_EPOCHS if cuda else CPU_EPOCHS
    if val_size is None:
        val_size = VAL_SIZE if cuda else CPU_VAL_SIZE
    if train_subset is None:  # all the images not held out, at most
        train_subset = 0 if cuda else min(CPU_TRAIN_SUBSET, TRAIN_IMAGES - val_size)
    return Fidelity(epochs, train_subset, val_size)

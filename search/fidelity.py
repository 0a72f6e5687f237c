"""How much training a trial gets: epochs, training images per epoch, held-out images."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from trainers import TrainConfig, UserError

__all__ = ["Fidelity", "default_fidelity"]

CPU_EPOCHS = 2  # a 5M-parameter trial then takes one to two minutes on 2 CPU cores
CPU_TRAIN_SUBSET = 1_000
GPU_EPOCHS = 30


@dataclass(frozen=True)
class Fidelity:
    """The training every trial of a study gets, unless the pruner stops it sooner."""

    epochs: int  # epochs of a trial the pruner lets finish (its maximum resource)
    train_subset: int  # training images per epoch; 0 = all that are not held out
    val_size: int = 5_000  # training images held out to validate every epoch

    def __post_init__(self) -> None:
        for name in ("epochs", "val_size"):
            if getattr(self, name) < 1:
                raise UserError(
                    f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}"
                )
        if not 0 <= self.train_subset <= 50_000 - self.val_size:
            raise UserError(
                f"--train-subset must be 0 (all) to {50_000 - self.val_size:,}, "
                f"got {self.train_subset}"
            )

    def apply(self, config: TrainConfig) -> TrainConfig:
        """`config` with this fidelity's epochs and data split."""
        data = dataclasses.replace(
            config.data, train_subset=self.train_subset, val_size=self.val_size
        )
        return dataclasses.replace(config, epochs=self.epochs, data=data)

    def describe(self) -> str:
        images = (
            f"{self.train_subset:,}" if self.train_subset else f"all {50_000 - self.val_size:,}"
        )
        return (
            f"{self.epochs} epochs on {images} training images, "
            f"validated on {self.val_size:,} held-out images"
        )


def default_fidelity(
    device: torch.device,
    epochs: int | None = None,
    train_subset: int | None = None,
    val_size: int = 5_000,
) -> Fidelity:
    """The given knobs, the rest defaulted for `device`: full data on a GPU, a slice on a CPU."""
    cuda = device.type == "cuda"
    return Fidelity(
        epochs=epochs if epochs is not None else (GPU_EPOCHS if cuda else CPU_EPOCHS),
        train_subset=train_subset
        if train_subset is not None
        else (0 if cuda else CPU_TRAIN_SUBSET),
        val_size=val_size,
    )

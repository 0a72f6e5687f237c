"""TrivialAugment and RandAugment on whole uint8 batches, every image with its own random ops.

torchvision's v2 `TrivialAugmentWide` and `RandAugment`, called on a batch, draw ONE op and one
magnitude for all of its images. Here each image draws its own op, its own magnitude bin
(TrivialAugment; RandAugment's is fixed) and its own sign for the signed ops (shear, translate,
rotate and the colour enhancements), as torchvision draws them for one image; `augment_ops`
applies them to the whole batch in a few tensor calls. RandAugment repeats the round `ops`
times, each image drawing afresh (with replacement, as torchvision does).

Op spaces and magnitude bins (31) are torchvision's. All draws come from torch's global CPU
generator (the trainer seeds it, checkpoints save it), so choosing ops never waits for the device.
"""

from __future__ import annotations

import torch

from trainers.augment_ops import NAMES, apply

__all__ = ["BINS", "Policy", "op_space"]

BINS = 31  # magnitude bins of both policies (RandAugment's magnitude is a bin, 0 to 30)


def op_space(wide: bool, size: int = 32) -> dict[str, tuple[torch.Tensor | None, bool]]:
    """op -> (its magnitude of each bin or None, signed): TrivialAugmentWide's (`wide`) or
    RandAugment's, for `size` x `size` images."""
    shear, shift, angle, enhance = (0.99, 32.0, 135.0, 0.99) if wide else (
        0.3, 150.0 / 331.0 * size, 30.0, 0.9)  # fmt: skip
    levels = 6 if wide else 4  # Posterize keeps 8 down to 2 (wide) or 4 bits

    def line(top: float) -> torch.Tensor:
        return torch.linspace(0.0, top, BINS)

    space: dict[str, tuple[torch.Tensor | None, bool]] = {"Identity": (None, False)}
    space |= {name: (line(shear), True) for name in ("ShearX", "ShearY")}
    space |= {name: (line(shift), True) for name in ("TranslateX", "TranslateY")}
    space["Rotate"] = (line(angle), True)
    space |= {name: (line(enhance), True) for name in ("Brightness", "Color", "Contrast",
                                                        "Sharpness")}  # fmt: skip
    space["Posterize"] = ((8 - torch.arange(BINS) / ((BINS - 1) / levels)).round().int(), False)
    space["Solarize"] = (torch.linspace(1.0, 0.0, BINS), False)
    return space | {"AutoContrast": (None, False), "Equalize": (None, False)}


class Policy:
    """`policy(images)`: a uint8 batch N x 3 x H x W with each image's own random ops applied."""

    def __init__(self, name: str, ops: int = 2, magnitude: int = 9) -> None:
        wide = name == "trivialaugment"  # else "randaugment"
        space = op_space(wide)
        none = torch.zeros(BINS)
        self.magnitudes = torch.stack([none if m is None else m.float() for m, _ in space.values()])
        self.signed = torch.tensor([signed for _, signed in space.values()])
        self.rounds = 1 if wide else ops
        self.bin = None if wide else magnitude  # None: drawn per image, uniformly over the bins

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        for _ in range(self.rounds):
            images = apply(images, *self.draw(len(images)))
        return images

    def draw(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Each of `n` images' op (an index of `augment_ops.NAMES`) and signed magnitude."""
        op = torch.randint(len(NAMES), (n,))
        bins = torch.randint(BINS, (n,)) if self.bin is None else torch.full((n,), self.bin)
        negative = (torch.rand(n) < 0.5) & self.signed[op]
        magnitude = self.magnitudes[op, bins].double()
        return op, torch.where(negative, -magnitude, magnitude)

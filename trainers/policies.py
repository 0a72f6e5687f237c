"""TrivialAugment and RandAugment on whole uint8 batches, every image with its own random ops.

torchvision's v2 `TrivialAugmentWide` and `RandAugment`, called on a batch, draw ONE op and one
magnitude for all of its images. Here each image draws its own op, and its own sign for the
signed ops (shear, translate, rotate and the colour enhancements); the images that drew the same
op and sign form a group, transformed by one call of a `torchvision.transforms.v2.functional` op
on that sub-batch: at most 23 calls a round (14 ops, 9 of them in two signs), none per image.
RandAugment repeats the round `ops` times, each image drawing afresh (with replacement, as
torchvision does).

Op spaces, magnitude bins (31), nearest interpolation and zero fill are torchvision's. The one
approximation: the images of a group share their magnitude within a batch. TrivialAugment draws
it per group and batch, uniformly over the bins, where torchvision draws one per image;
RandAugment's magnitude is fixed anyway. All draws come from torch's global CPU generator (the
trainer seeds it, checkpoints save it), so choosing ops never waits for the device.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as TF

__all__ = ["BINS", "OPS", "Policy", "op_space"]

BINS = 31  # magnitude bins of both policies (RandAugment's magnitude is a bin, 0 to 30)
NEAREST = InterpolationMode.NEAREST
Op = Callable[[torch.Tensor, float], torch.Tensor]


AFFINE = {"angle": 0.0, "translate": [0, 0], "scale": 1.0, "shear": [0.0, 0.0]}  # identity


def _affine(images: torch.Tensor, **geometry: object) -> torch.Tensor:
    return TF.affine(images, **(AFFINE | geometry), interpolation=NEAREST)  # fill: zeros


def _shear(degrees_x: float, degrees_y: float) -> dict[str, object]:
    return {"shear": [degrees_x, degrees_y], "center": [0, 0]}


OPS: dict[str, Op] = {  # as torchvision's _AutoAugmentBase._apply_image_or_video_transform
    "Identity": lambda x, m: x,
    "ShearX": lambda x, m: _affine(x, **_shear(math.degrees(math.atan(m)), 0.0)),
    "ShearY": lambda x, m: _affine(x, **_shear(0.0, math.degrees(math.atan(m)))),
    "TranslateX": lambda x, m: _affine(x, translate=[int(m), 0]),
    "TranslateY": lambda x, m: _affine(x, translate=[0, int(m)]),
    "Rotate": lambda x, m: TF.rotate(x, angle=m, interpolation=NEAREST),
    "Brightness": lambda x, m: TF.adjust_brightness(x, brightness_factor=1.0 + m),
    "Color": lambda x, m: TF.adjust_saturation(x, saturation_factor=1.0 + m),
    "Contrast": lambda x, m: TF.adjust_contrast(x, contrast_factor=1.0 + m),
    "Sharpness": lambda x, m: TF.adjust_sharpness(x, sharpness_factor=1.0 + m),
    "Posterize": lambda x, m: TF.posterize(x, bits=int(m)),
    "Solarize": lambda x, m: TF.solarize(x, threshold=255.0 * m),
    "AutoContrast": lambda x, m: TF.autocontrast(x),
    "Equalize": lambda x, m: TF.equalize(x),
}


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
        self.space = op_space(wide)
        self.names = list(self.space)
        self.rounds = 1 if wide else ops
        self.bin = None if wide else magnitude  # None: drawn per group and batch
        self.signed = torch.tensor([signed for _, signed in self.space.values()])

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        for _ in range(self.rounds):
            images = self._round(images)
        return images

    def _round(self, images: torch.Tensor) -> torch.Tensor:
        """One op per image: each group (op, sign) by one call on its sub-batch."""
        n, k = len(images), len(self.names)
        op = torch.randint(k, (n,))
        group = 2 * op + ((torch.rand(n) < 0.5) & self.signed[op])  # odd: negative magnitude
        counts = torch.bincount(group, minlength=2 * k).tolist()
        order = group.argsort(stable=True).to(images.device, non_blocking=True)
        out, start = images.clone(), 0
        for g, count in enumerate(counts):
            index, start = order[start : start + count], start + count
            name = self.names[g // 2]
            if count and name != "Identity":
                out[index] = OPS[name](images[index], self._magnitude(name, negative=g % 2 == 1))
        return out

    def _magnitude(self, name: str, negative: bool) -> float:
        magnitudes = self.space[name][0]
        if magnitudes is None:
            return 0.0
        value = float(magnitudes[int(torch.randint(BINS, ())) if self.bin is None else self.bin])
        return -value if negative else value

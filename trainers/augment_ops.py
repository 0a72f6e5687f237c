"""The 14 ops of TrivialAugment and RandAugment on a uint8 batch, each image with its own op and
magnitude, in a few tensor calls whatever the batch drew.

`apply(images, ops, magnitudes)` sorts the images into families and transforms each family by
one pass over its sub-batch:
- shears, translations and rotations: one `grid_sample`, each image with its own affine matrix
  (torchvision's inverse matrix and sampling grid, computed for all of them at once);
- brightness, saturation ("Color") and contrast: one blend, each image with its own factor and
  degenerate image (black, its grey, its mean grey); sharpness: one blur and blend;
- posterize and solarize: one elementwise op each, with per-image bits or threshold;
- autocontrast and equalize, each on its sub-batch.

That is about 150 tensor ops a round at any batch size (views and the host's draws included;
about 85 run on the device), where a call of torchvision's ops per (op, sign) group made about
540 (`bench/policy_cost.py`): on a GPU each device op is a kernel launch, and at the small
batches a search samples, launches rather than arithmetic bound the time. Nothing
waits on the device: the per-image parameters are computed on the host (NumPy) and travel in one
non-blocking copy, and autocontrast masks with `where` where torchvision's boolean indexing
would synchronize.

Each op gives exactly what torchvision's v2 op gives on the image alone, as TrivialAugmentWide
and RandAugment call it (nearest interpolation, zero fill): every op, magnitude bin and sign of
both spaces is tested against it on the CPU (tests/trainers/test_policies.py).
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import functional as TF

__all__ = ["NAMES", "apply"]

# torchvision's order of the ops
NAMES = ("Identity", "ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Brightness",
         "Color", "Contrast", "Sharpness", "Posterize", "Solarize", "AutoContrast",
         "Equalize")  # fmt: skip
OP = {name: i for i, name in enumerate(NAMES)}
# family of each op: 0 none, 1 geometric, 2 colour blend, then one family per remaining op
FAMILY = torch.tensor([0, 1, 1, 1, 1, 1, 2, 2, 2, 3, 4, 5, 6, 7])
THETA, FACTOR, REST, KIND, MASK, THRESHOLD, ORDER = slice(0, 6), 6, 7, 8, 9, 10, 11  # columns
GREY = (0.2989, 0.587, 0.114)  # torchvision's luma weights


def apply(images: torch.Tensor, ops: torch.Tensor, magnitudes: torch.Tensor) -> torch.Tensor:
    """`images` (N x 3 x H x W uint8, any device) with op `ops[i]` (an index of NAMES, on the
    host) at signed magnitude `magnitudes[i]` (float64, on the host) applied to image i."""
    family = FAMILY[ops]
    order = family.argsort(stable=True)
    counts = torch.bincount(family, minlength=8).tolist()
    params = _parameters(ops[order], magnitudes[order], *images.shape[-2:])
    params[:, ORDER] = order  # exact in float32 up to 2**24 images
    params = params.to(images.device, non_blocking=True)  # the one copy to the device
    order = params[:, ORDER].long()
    out, start = images.clone(), counts[0]
    passes = (_geometric, _blend, _sharpness, _posterize, _solarize, _autocontrast, _equalize)
    for transform, count in zip(passes, counts[1:], strict=True):
        if count:
            index, p = order[start : start + count], params[start : start + count]
            out[index] = transform(images[index], p)
        start += count
    return out


def _parameters(ops: torch.Tensor, m: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Each image's parameters (N x 12 float32): its inverse affine matrix, transposed and
    scaled as torchvision's grid needs it; blend factor, 1 - factor and kind; posterize mask;
    solarize threshold; a column for its index in the batch. In float64 on the host, as
    torchvision computes them (NumPy: a third of the time of torch's ops on arrays this small)."""
    ops, m = ops.numpy(), m.numpy().astype(np.float64)

    def on(*names: str) -> np.ndarray:
        chosen = np.zeros(len(NAMES), dtype=bool)
        chosen[[OP[name] for name in names]] = True
        return chosen[ops]

    shear = np.deg2rad(np.rad2deg(np.arctan(m)))  # TF.affine takes the shear in degrees
    corner = on("ShearX", "ShearY")  # shears turn about the top-left corner, the rest the centre
    matrix = _inverse_affine(
        angle=np.where(on("Rotate"), -np.remainder(m, 360.0), 0.0),  # TF.rotate's convention
        translate=(np.where(on("TranslateX"), np.trunc(m), 0.0),
                   np.where(on("TranslateY"), np.trunc(m), 0.0)),
        shear=(np.where(on("ShearX"), shear, 0.0), np.where(on("ShearY"), shear, 0.0)),
        center=(np.where(corner, -width / 2, 0.0), np.where(corner, -height / 2, 0.0)),
    ).astype(np.float32)  # fmt: skip
    scale = np.array([0.5 * width, 0.5 * height], dtype=np.float32)
    theta = matrix.reshape(-1, 2, 3).transpose(0, 2, 1) / scale
    colour = on("Brightness", "Color", "Contrast", "Sharpness")  # kinds 0 to 3
    factor = np.where(colour, 1.0 + m, 0.0)
    bits = np.where(on("Posterize"), m, 0.0).astype(np.int64).clip(0, 8)
    columns = [  # 1 - factor in float64, as torchvision rounds it (not derived on the device)
        theta.reshape(-1, 6), factor, 1.0 - factor, np.where(colour, ops - OP["Brightness"], 0),
        (255 << (8 - bits)) & 255, np.where(on("Solarize"), 255.0 * m, 0.0), np.zeros(len(ops)),
    ]  # fmt: skip
    table = np.concatenate([np.asarray(c, np.float32).reshape(len(ops), -1) for c in columns], 1)
    return torch.from_numpy(table)


def _inverse_affine(
    angle: np.ndarray,
    translate: tuple[np.ndarray, np.ndarray],
    shear: tuple[np.ndarray, np.ndarray],
    center: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """torchvision's `_get_inverse_affine_matrix` at scale 1 for each image (N x 6): angles in
    degrees, shears in radians, the centre relative to the image's centre."""
    rot, (sx, sy) = np.deg2rad(angle), shear
    (cx, cy), (tx, ty) = center, translate
    a = np.cos(rot - sy) / np.cos(sy)
    b = -(a * np.tan(sx) + np.sin(rot))
    c = np.sin(rot - sy) / np.cos(sy)
    d = np.cos(rot) - c * np.tan(sx)
    m0, m1, m3, m4 = d, -b, -c, a
    m2 = cx - m0 * (cx + tx) - m1 * (cy + ty)
    m5 = cy - m3 * (cx + tx) - m4 * (cy + ty)
    return np.stack([m0, m1, m2, m3, m4, m5], axis=1)


@functools.cache
def _base_grid(height: int, width: int, device: torch.device) -> torch.Tensor:
    """torchvision's `_affine_grid` base: pixel centres relative to the image centre, and 1."""
    x = torch.linspace((1.0 - width) * 0.5, (width - 1.0) * 0.5, steps=width, device=device)
    y = torch.linspace((1.0 - height) * 0.5, (height - 1.0) * 0.5, steps=height, device=device)
    grid = torch.stack([x.expand(height, width), y.view(-1, 1).expand(height, width),
                        torch.ones(height, width, device=device)], dim=-1)  # fmt: skip
    return grid.view(1, height * width, 3)


@functools.cache
def _blur(device: torch.device) -> torch.Tensor:
    """PIL's SMOOTH kernel, the degenerate of sharpness, as a depthwise 3-channel filter."""
    a, b = 1.0 / 13.0, 5.0 / 13.0
    kernel = torch.tensor([[a, a, a], [a, b, a], [a, a, a]])
    return kernel.to(device).expand(3, 1, 3, 3).contiguous()


def _geometric(images: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    n, _, height, width = images.shape
    base = _base_grid(height, width, images.device).expand(n, -1, -1)
    grid = base.bmm(p[:, THETA].view(n, 3, 2)).view(n, height, width, 2)
    out = F.grid_sample(images.float(), grid, mode="nearest", padding_mode="zeros",
                        align_corners=False)  # fmt: skip
    return out.round_().to(torch.uint8)


def _blend(images: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Each image blended with its degenerate (black, its grey, its mean grey) as torchvision
    blends: image * factor + degenerate * (1 - factor)."""
    x, n = images.float(), len(images)
    factor, rest, kind = (p[:, i].view(n, 1, 1, 1) for i in (FACTOR, REST, KIND))
    grey = x[:, :1].mul(GREY[0]).add_(x[:, 1:2], alpha=GREY[1]).add_(x[:, 2:], alpha=GREY[2])
    grey = grey.floor_()
    degenerate = torch.where(kind == 1, grey, torch.where(kind == 2, grey.mean((1, 2, 3), True), 0))
    return torch.addcmul(x * factor, degenerate, rest).clamp_(0, 255).to(torch.uint8)


def _sharpness(images: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """image + (1 - factor) * (blur - image), inside a one-pixel border kept as it was."""
    x = images.float()
    blurred = F.conv2d(x, _blur(x.device), groups=3).round_()
    inner = x[..., 1:-1, 1:-1]
    inner.add_((blurred - inner).mul_(p[:, REST].view(-1, 1, 1, 1)))
    return x.clamp_(0, 255).to(torch.uint8)


def _posterize(images: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    return images & p[:, MASK].to(torch.uint8).view(-1, 1, 1, 1)


def _solarize(images: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    return torch.where(images >= p[:, THRESHOLD].view(-1, 1, 1, 1), 255 - images, images)


def _autocontrast(images: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """torchvision's, with `where` for its boolean-mask assignment (a device sync on CUDA)."""
    x = images.float()
    low, high = x.amin((-2, -1), keepdim=True), x.amax((-2, -1), keepdim=True)
    flat = high == low
    scale = torch.where(flat, 1.0, (high - low).mul_(1.0 / 255))
    return (x - torch.where(flat, 0.0, low)).div_(scale).clamp_(0, 255).to(torch.uint8)


def _equalize(images: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    return TF.equalize(images)

"""CIFAR ResNets built from per-stage depths and widths, by the stage plan that counts them.

Like torchvision's `ResNet(block, layers)`, but with a CIFAR stem (one 3x3 convolution, no
max-pool), any number of stages from 2 to 5 and a width per stage; projection or parameter-free
("option A") shortcuts, ReLU, SiLU or ELU, and stochastic depth. The blocks follow the stage plan
of `trainers.counting`, which counts their parameters by arithmetic without torch; the tests hold
the count equal to the built model's sum of `numel` over many random configs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import stochastic_depth

from trainers.config import NUM_CLASSES, ModelConfig
from trainers.counting import BlockPlan, basic_block_params, preact_block_params, stage_plan

__all__ = [
    "ACTIVATIONS",
    "BasicBlock",
    "Conv1x1",
    "PadShortcut",
    "PreActBlock",
    "ResNet",
    "build_model",
]


ACTIVATIONS: dict[str, type[nn.ReLU | nn.SiLU | nn.ELU]] = {
    "relu": nn.ReLU, "silu": nn.SiLU, "elu": nn.ELU,
}  # fmt: skip


def _conv3x3(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)


class Conv1x1(nn.Conv2d):
    """A 1x1 convolution (the projection shortcut's). Strided on the CPU, it is computed as the
    stride-1 one on every stride-th pixel, the same function of the same weights: oneDNN's own
    strided 1x1 backward pass on channels_last input with fewer input channels than its SIMD
    block (8 with AVX2) hangs with 2 threads or writes wrong weight gradients (oneDNN issue
    #6035; a trial of widths (4, 8) hung here on an AVX2 CPU)."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__(c_in, c_out, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu" or self.stride == (1, 1):
            return super().forward(x)
        step_h, step_w = self.stride
        return F.conv2d(x[:, :, ::step_h, ::step_w], self.weight)


def _drop_path(branch: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """The residual branch zeroed for a random p of the images in training (the rest scaled by
    1 / (1 - p), so evaluation uses it as it is); untouched when p is 0."""
    return stochastic_depth(branch, p, "row", training) if p else branch


class PadShortcut(nn.Module):
    """He et al.'s option A: the input subsampled by the stride, zero channels appended up to
    the block's width; no parameters."""

    def __init__(self, plan: BlockPlan) -> None:
        super().__init__()
        self.stride, self.extra = plan.stride, plan.c_out - plan.c_in  # ModelConfig: extra >= 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride != 1:  # x[:, :, ::2, ::2] exactly, but its gradient keeps channels_last
            x = F.avg_pool2d(x, 1, self.stride)  # (a strided slice's made BN's backward 1.7x)
        return F.pad(x, (0, 0, 0, 0, 0, self.extra)) if self.extra else x


class SqueezeExcite(nn.Module):
    """Channel gates from globally pooled features (Hu et al. 2018)."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, hidden, 1)
        self.expand = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.expand(torch.relu(self.reduce(x.mean((2, 3), keepdim=True))))
        return x * torch.sigmoid(gate)


class BasicBlock(nn.Module):
    """conv-BN-act-dropout-conv-BN-SE (dropped by stochastic depth), plus the shortcut, then
    act (He et al. 2015); act is ReLU, SiLU or ELU."""

    def __init__(self, plan: BlockPlan, dropout: float, activation: str = "relu") -> None:
        super().__init__()
        c_in, c_out = plan.c_in, plan.c_out
        self.conv1 = _conv3x3(c_in, c_out, plan.stride)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.act1, self.act2 = ACTIVATIONS[activation](), ACTIVATIONS[activation]()
        self.drop = nn.Dropout(dropout)
        self.drop_path = plan.drop
        self.conv2 = _conv3x3(c_out, c_out)
        self.bn2 = nn.BatchNorm2d(c_out)
        nn.init.zeros_(self.bn2.weight)  # each residual branch starts as the identity
        self.se = SqueezeExcite(c_out, plan.se) if plan.se else nn.Identity()
        self.shortcut: nn.Module = nn.Identity()
        if plan.projects:
            self.shortcut = nn.Sequential(Conv1x1(c_in, c_out, plan.stride), nn.BatchNorm2d(c_out))
        elif plan.reshapes:
            self.shortcut = PadShortcut(plan)

    count = staticmethod(basic_block_params)  # its trainable parameters, by arithmetic

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.drop(self.act1(self.bn1(self.conv1(x))))
        out = _drop_path(self.se(self.bn2(self.conv2(out))), self.drop_path, self.training)
        return self.act2(out + self.shortcut(x))


class PreActBlock(nn.Module):
    """BN-act-conv-BN-act-dropout-conv-SE (dropped by stochastic depth), plus the shortcut
    (He et al. 2016); a projection shortcut takes the normalized input, a padded one the input."""

    def __init__(self, plan: BlockPlan, dropout: float, activation: str = "relu") -> None:
        super().__init__()
        c_in, c_out = plan.c_in, plan.c_out
        self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = _conv3x3(c_in, c_out, plan.stride)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.act1, self.act2 = ACTIVATIONS[activation](), ACTIVATIONS[activation]()
        self.drop = nn.Dropout(dropout)
        self.drop_path = plan.drop
        self.conv2 = _conv3x3(c_out, c_out)
        self.se = SqueezeExcite(c_out, plan.se) if plan.se else nn.Identity()
        self.shortcut: nn.Module | None = None  # None: the input itself
        if plan.projects:
            self.shortcut = Conv1x1(c_in, c_out, plan.stride)
        elif plan.reshapes:
            self.shortcut = PadShortcut(plan)
        self.project = plan.projects

    count = staticmethod(preact_block_params)  # its trainable parameters, by arithmetic

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pre = self.act1(self.bn1(x))
        shortcut = x if self.shortcut is None else self.shortcut(pre if self.project else x)
        out = self.drop(self.act2(self.bn2(self.conv1(pre))))
        return _drop_path(self.se(self.conv2(out)), self.drop_path, self.training) + shortcut


BLOCKS: dict[str, type[BasicBlock | PreActBlock]] = {"basic": BasicBlock, "preact": PreActBlock}


class ResNet(nn.Module):
    """3x3 stem, one stage per (depth, width), global average pool, linear head."""

    def __init__(
        self,
        block: type[BasicBlock | PreActBlock],
        depths: Sequence[int],
        widths: Sequence[int],
        stem_width: int = 64,
        se_ratio: float = 0.0,
        dropout: float = 0.0,
        num_classes: int = 10,
        shortcut: str = "projection",
        activation: str = "relu",
        stochastic_depth: float = 0.0,
    ) -> None:
        super().__init__()
        preact, act = block is PreActBlock, ACTIVATIONS[activation]
        self.stem = nn.Sequential(_conv3x3(3, stem_width))
        if not preact:  # a pre-activation net normalizes at the start of each block instead
            self.stem.extend([nn.BatchNorm2d(stem_width), act(inplace=True)])
        plan = stage_plan(depths, widths, stem_width, se_ratio, shortcut, stochastic_depth)
        self.stages = nn.Sequential(
            *(nn.Sequential(*(block(b, dropout, activation) for b in blocks)) for blocks in plan)
        )
        c_out = widths[-1]
        self.final = nn.Sequential(nn.BatchNorm2d(c_out), act()) if preact else nn.Identity()
        self.head = nn.Linear(c_out, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.final(self.stages(self.stem(x)))
        return self.head(torch.flatten(x.mean((2, 3)), 1))


def build_model(cfg: ModelConfig, device: torch.device | str | None = None) -> ResNet:
    """The ResNet that `cfg` describes; `device="meta"` builds it without allocating weights."""
    with torch.device(device or "cpu"):
        return ResNet(
            BLOCKS[cfg.block],
            cfg.depths,
            cfg.widths,
            stem_width=cfg.stem_width,
            se_ratio=cfg.se_ratio,
            dropout=cfg.dropout,
            num_classes=NUM_CLASSES,
            shortcut=cfg.shortcut,
            activation=cfg.activation,
            stochastic_depth=cfg.stochastic_depth,
        )

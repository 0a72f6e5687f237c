"""CIFAR ResNets built from per-stage depths and widths, and their exact parameter counts.

Like torchvision's `ResNet(block, layers)`, but with a CIFAR stem (one 3x3 convolution, no
max-pool), any number of stages from 2 to 5 and a width per stage. `param_counts` gives the
trainable-parameter count by arithmetic, in microseconds, without building anything; the tests
hold it equal to the built model's sum of `numel` over many random configs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from trainers.config import NUM_CLASSES, ModelConfig

__all__ = ["BasicBlock", "PreActBlock", "ResNet", "build_model", "count_params", "param_counts"]


def _conv3x3(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)


def se_hidden(channels: int, ratio: float) -> int:
    """Hidden width of the squeeze-and-excitation bottleneck; 0 means no SE."""
    return max(1, round(channels * ratio)) if ratio > 0 else 0


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
    """conv-BN-ReLU-dropout-conv-BN-SE, plus the shortcut, then ReLU (He et al. 2015)."""

    def __init__(self, c_in: int, c_out: int, stride: int, se: int, dropout: float) -> None:
        super().__init__()
        self.conv1 = _conv3x3(c_in, c_out, stride)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.drop = nn.Dropout(dropout)
        self.conv2 = _conv3x3(c_out, c_out)
        self.bn2 = nn.BatchNorm2d(c_out)
        nn.init.zeros_(self.bn2.weight)  # each residual branch starts as the identity
        self.se = SqueezeExcite(c_out, se) if se else nn.Identity()
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.drop(torch.relu(self.bn1(self.conv1(x))))
        out = self.se(self.bn2(self.conv2(out)))
        return torch.relu(out + self.shortcut(x))


class PreActBlock(nn.Module):
    """BN-ReLU-conv-BN-ReLU-dropout-conv-SE, plus the shortcut (He et al. 2016)."""

    def __init__(self, c_in: int, c_out: int, stride: int, se: int, dropout: float) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = _conv3x3(c_in, c_out, stride)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.drop = nn.Dropout(dropout)
        self.conv2 = _conv3x3(c_out, c_out)
        self.se = SqueezeExcite(c_out, se) if se else nn.Identity()
        self.shortcut: nn.Module | None = None
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pre = torch.relu(self.bn1(x))
        shortcut = x if self.shortcut is None else self.shortcut(pre)
        out = self.drop(torch.relu(self.bn2(self.conv1(pre))))
        return self.se(self.conv2(out)) + shortcut


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
    ) -> None:
        super().__init__()
        preact = block is PreActBlock
        self.stem = nn.Sequential(_conv3x3(3, stem_width))
        if not preact:  # a pre-activation net normalizes at the start of each block instead
            self.stem.extend([nn.BatchNorm2d(stem_width), nn.ReLU(inplace=True)])
        stages: list[nn.Module] = []
        c_in = stem_width
        for i, (depth, width) in enumerate(zip(depths, widths, strict=True)):
            blocks = []
            for j in range(depth):
                stride = 2 if i > 0 and j == 0 else 1
                blocks.append(block(c_in, width, stride, se_hidden(width, se_ratio), dropout))
                c_in = width
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.final = nn.Sequential(nn.BatchNorm2d(c_in), nn.ReLU()) if preact else nn.Identity()
        self.head = nn.Linear(c_in, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.final(self.stages(self.stem(x)))
        return self.head(torch.flatten(x.mean((2, 3)), 1))


def build_model(cfg: ModelConfig, device: torch.device | str | None = None) -> ResNet:
    """The ResNet that `cfg` describes; `device="meta"` builds it without allocating weights."""
    block = BasicBlock if cfg.block == "basic" else PreActBlock
    with torch.device(device or "cpu"):
        return ResNet(
            block,
            cfg.depths,
            cfg.widths,
            stem_width=cfg.stem_width,
            se_ratio=cfg.se_ratio,
            dropout=cfg.dropout,
            num_classes=NUM_CLASSES,
        )


def param_counts(cfg: ModelConfig) -> dict[str, int]:
    """Trainable parameters of the model `cfg` describes, by part: stem, stage1.., head."""
    preact = cfg.block == "preact"
    bn = 2  # a batch norm's weight and bias per channel
    counts = {"stem": 27 * cfg.stem_width + (0 if preact else bn * cfg.stem_width)}
    c_in = cfg.stem_width
    for i, (depth, width) in enumerate(zip(cfg.depths, cfg.widths, strict=True), start=1):
        total = 0
        for j in range(depth):
            stride = 2 if i > 1 and j == 0 else 1
            project = stride != 1 or c_in != width
            h = se_hidden(width, cfg.se_ratio)
            convs = 9 * c_in * width + 9 * width * width
            norms = bn * (c_in + width) if preact else bn * 2 * width
            shortcut = c_in * width + (0 if preact else bn * width) if project else 0
            se = 2 * width * h + h + width if h else 0
            total += convs + norms + shortcut + se
            c_in = width
        counts[f"stage{i}"] = total
    counts["head"] = c_in * NUM_CLASSES + NUM_CLASSES + (bn * c_in if preact else 0)
    return counts


def count_params(cfg: ModelConfig) -> int:
    """Exact trainable-parameter count of the model `cfg` describes; nothing is built."""
    return sum(param_counts(cfg).values())

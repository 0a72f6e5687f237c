"""Exact trainable-parameter counts of the CIFAR ResNets `trainers.resnet` builds, by arithmetic.

The stage plan (which blocks, with which channels, strides, SE widths, shortcuts and drop
probabilities) is shared with `trainers.resnet`, which builds the model from it; the counts here
take microseconds, need no torch, and the tests hold them equal to the built model's sum of
`numel` over many random configs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from trainers.config import NUM_CLASSES, ModelConfig

IMAGE_SIZE = 32  # CIFAR images are 32x32; every stage after the first halves the side

__all__ = [
    "BlockPlan",
    "basic_block_params",
    "count_macs",
    "count_params",
    "param_counts",
    "preact_block_params",
    "se_hidden",
    "stage_plan",
]


@dataclass(frozen=True)
class BlockPlan:
    """One residual block: its input and output channels, stride, SE width, shortcut kind and
    stochastic-depth drop probability."""

    c_in: int
    c_out: int
    stride: int  # 2 for the first block of every stage after the first, else 1
    se: int  # hidden width of its squeeze-and-excitation; 0 = none
    shortcut: str = "projection"  # how a changed shape is matched: "projection" or "pad"
    drop: float = 0.0  # probability that training drops its residual branch, per image

    @property
    def reshapes(self) -> bool:
        """Whether the shortcut must change the input's shape (stride or channels)."""
        return self.stride != 1 or self.c_in != self.c_out

    @property
    def projects(self) -> bool:
        """Whether the shortcut is a 1x1 convolution: the shape changes and it is not padded."""
        return self.reshapes and self.shortcut == "projection"


def stage_plan(
    depths: Sequence[int],
    widths: Sequence[int],
    stem_width: int,
    se_ratio: float,
    shortcut: str = "projection",
    stochastic_depth: float = 0.0,
) -> list[list[BlockPlan]]:
    """The blocks of every stage, as both `ResNet` builds them and `param_counts` counts them.

    Block l of L (counted from 1 over all stages) drops its branch with l / L of
    `stochastic_depth`: the last block with all of it (Huang et al. 2016's linear decay).
    """
    stages, c_in, index, total = [], stem_width, 0, sum(depths)
    for i, (depth, width) in enumerate(zip(depths, widths, strict=True)):
        blocks = []
        for j in range(depth):
            index += 1
            stride = 2 if i > 0 and j == 0 else 1
            se, drop = se_hidden(width, se_ratio), stochastic_depth * index / total
            blocks.append(BlockPlan(c_in, width, stride, se, shortcut, drop))
            c_in = width
        stages.append(blocks)
    return stages


def se_hidden(channels: int, ratio: float) -> int:
    """Hidden width of the squeeze-and-excitation bottleneck; 0 means no SE."""
    return max(1, round(channels * ratio)) if ratio > 0 else 0


def _se_params(plan: BlockPlan) -> int:
    return 2 * plan.c_out * plan.se + plan.se + plan.c_out if plan.se else 0


def basic_block_params(plan: BlockPlan) -> int:
    """Trainable parameters of a post-activation block (2 per batch-norm channel)."""
    c_in, c_out = plan.c_in, plan.c_out
    shortcut = c_in * c_out + 2 * c_out if plan.projects else 0
    return 9 * c_in * c_out + 9 * c_out * c_out + 4 * c_out + shortcut + _se_params(plan)


def preact_block_params(plan: BlockPlan) -> int:
    """Trainable parameters of a pre-activation block (2 per batch-norm channel)."""
    c_in, c_out = plan.c_in, plan.c_out
    shortcut = c_in * c_out if plan.projects else 0
    norms = 2 * (c_in + c_out)
    return 9 * c_in * c_out + 9 * c_out * c_out + norms + shortcut + _se_params(plan)


BLOCK_PARAMS: dict[str, Callable[[BlockPlan], int]] = {
    "basic": basic_block_params, "preact": preact_block_params,
}  # fmt: skip


def param_counts(cfg: ModelConfig) -> dict[str, int]:
    """Trainable parameters of the model `cfg` describes, by part: stem, stage1.., head."""
    preact = cfg.block == "preact"
    counts = {"stem": 27 * cfg.stem_width + (0 if preact else 2 * cfg.stem_width)}
    block = BLOCK_PARAMS[cfg.block]
    plan = stage_plan(cfg.depths, cfg.widths, cfg.stem_width, cfg.se_ratio, cfg.shortcut)
    for i, blocks in enumerate(plan, start=1):
        counts[f"stage{i}"] = sum(block(b) for b in blocks)
    c_out = cfg.widths[-1]
    counts["head"] = c_out * NUM_CLASSES + NUM_CLASSES + (2 * c_out if preact else 0)
    return counts


def count_params(cfg: ModelConfig) -> int:
    """Exact trainable-parameter count of the model `cfg` describes; nothing is built."""
    return sum(param_counts(cfg).values())


def count_macs(cfg: ModelConfig) -> int:
    """Multiply-accumulates of one image's forward pass through the model's convolutions and
    head (norms, activations and pooling are not counted): the arithmetic a training step does
    per image, about a third of it. Exact for the built model; nothing is built."""
    side, macs = IMAGE_SIZE, 9 * 3 * cfg.stem_width * IMAGE_SIZE**2
    plan = stage_plan(cfg.depths, cfg.widths, cfg.stem_width, cfg.se_ratio, cfg.shortcut)
    for blocks in plan:
        for b in blocks:
            side //= b.stride
            shortcut = b.c_in * b.c_out if b.projects else 0
            convs = 9 * b.c_in * b.c_out + 9 * b.c_out * b.c_out + shortcut
            macs += convs * side**2 + 2 * b.c_out * b.se  # SE works on the pooled channels
    return macs + cfg.widths[-1] * NUM_CLASSES

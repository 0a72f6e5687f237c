"""Learning-rate schedules, stepped once per batch, as factors of the peak LR for LambdaLR."""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

from trainers.config import ScheduleConfig

__all__ = ["lr_factor", "make_scheduler"]

ONECYCLE_START = 1 / 25  # one-cycle starts at peak / 25 (as torch's) and ends at peak / 1e4
# (torch's OneCycleLR ends at its start / 1e4, that is peak / 2.5e5)
ONECYCLE_END = 1e-4


def _cosine(start: float, end: float, progress: float) -> float:
    """From `start` to `end` along half a cosine, `progress` in [0, 1]."""
    return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, max(0.0, progress))))


def lr_factor(cfg: ScheduleConfig, total_steps: int) -> Callable[[int], float]:
    """The LR at each step as a fraction of the peak, over `total_steps` batches.

    cosine: linear warm-up over the first `warmup` of the steps, then cosine decay to 0.
    step: the peak, multiplied by `gamma` at each milestone (fractions of the steps).
    onecycle: cosine from peak/25 up to the peak over `pct_start`, then down to peak/1e4.
    """
    if cfg.name == "step":
        milestones = sorted(round(m * total_steps) for m in cfg.milestones)
        return lambda step: cfg.gamma ** bisect.bisect_right(milestones, step)
    if cfg.name == "onecycle":
        up = max(1, round(cfg.pct_start * total_steps))
        down = max(1, total_steps - up)
        return lambda step: (
            _cosine(ONECYCLE_START, 1.0, step / up)
            if step < up
            else _cosine(1.0, ONECYCLE_END, (step - up) / down)
        )
    warmup = round(cfg.warmup * total_steps)
    return lambda step: (
        (step + 1) / (warmup + 1)
        if step < warmup
        else _cosine(1.0, 0.0, (step - warmup) / max(1, total_steps - warmup))
    )


def make_scheduler(optimizer: Optimizer, cfg: ScheduleConfig, total_steps: int) -> LambdaLR:
    """The schedule `cfg` names, scaling each parameter group's LR (the peak) every batch."""
    return LambdaLR(optimizer, lr_factor(cfg, total_steps))

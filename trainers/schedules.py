"""Learning-rate schedules, stepped once per batch, from torch's own schedulers."""

from __future__ import annotations

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR, LRScheduler, MultiStepLR, OneCycleLR

from trainers.config import ScheduleConfig

__all__ = ["make_scheduler"]


def make_scheduler(
    optimizer: Optimizer, cfg: ScheduleConfig, peak_lr: float, total_steps: int
) -> LRScheduler:
    """The schedule `cfg` names over `total_steps` batches, peaking at `peak_lr`.

    cosine: linear warm-up over the first `warmup` of the steps, then cosine decay to 0.
    step: the peak, multiplied by `gamma` at each milestone (fractions of the steps).
    onecycle: torch's OneCycleLR (cosine up to the peak over `pct_start`, then down), fixed
    momentum.
    """
    if cfg.name == "onecycle":
        return OneCycleLR(
            optimizer,
            peak_lr,
            total_steps=total_steps,
            pct_start=cfg.pct_start,
            cycle_momentum=False,
        )
    if cfg.name == "step":
        milestones = sorted({max(1, round(m * total_steps)) for m in cfg.milestones})
        return MultiStepLR(optimizer, milestones, gamma=cfg.gamma)
    warmup = round(cfg.warmup * total_steps)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        progress = (step - warmup) / max(1, total_steps - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return LambdaLR(optimizer, factor)

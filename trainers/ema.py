"""An exponential moving average of a model's weights, warmed up so short runs benefit too.

torch.optim.swa_utils.AveragedModel with get_ema_multi_avg_fn averages with a fixed decay, which
keeps the average close to the random initial weights for the first 1 / (1 - decay) steps; the
warm-up min(decay, (1 + n) / (10 + n)) (as timm's ModelEmaV2 and airbench use) needs the step
count n on the host. It is kept here as a plain int, so no update waits for the device.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

__all__ = ["Ema"]


class Ema:
    """The average model, updated after every optimizer step with `update(model)`."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.module = copy.deepcopy(model).eval().requires_grad_(False)
        self.decay = decay
        self.updates = 0

    def _pairs(self, model: nn.Module) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        mine = [*self.module.parameters(), *self.module.buffers()]
        theirs = [*model.parameters(), *model.buffers()]
        return mine, theirs

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        mine, theirs = self._pairs(model)
        floats = [
            (a, b.detach()) for a, b in zip(mine, theirs, strict=True) if a.is_floating_point()
        ]
        if floats:
            averaged, current = zip(*floats, strict=True)
            torch._foreach_lerp_(list(averaged), list(current), 1.0 - decay)
        for a, b in zip(mine, theirs, strict=True):
            if not a.is_floating_point():  # BatchNorm's num_batches_tracked
                a.copy_(b)

    def state_dict(self) -> dict[str, Any]:
        return {"module": self.module.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.module.load_state_dict(state["module"])
        self.updates = int(state["updates"])

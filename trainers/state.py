"""What a training run updates step by step: model, optimizer, schedule, loss scaler, average.

Checkpoints save and restore exactly this (`state_dict` / `load_state_dict`), so a resumed run
goes on as if it had never stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.optim.lr_scheduler import LRScheduler

from trainers.config import TrainConfig
from trainers.device import numerics
from trainers.ema import Ema
from trainers.resnet import build_model
from trainers.schedules import make_scheduler

__all__ = ["TrainState"]


@dataclass
class TrainState:
    """The parts of a run that change as it trains."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: LRScheduler  # stepped every batch
    scaler: torch.amp.GradScaler  # loss scaling; a no-op unless training in fp16
    sums: torch.Tensor  # the epoch's summed batch losses and correctly classified images
    numerics: dict[str, str]  # the device type and precision it trains in (`device.numerics`)
    ema: Ema | None = None  # moving average of the weights, when the config asks for one
    compiled_graphs: bool = False  # the compiled forward replays CUDA graphs: mark each step
    capturable: bool = False  # the optimizer steps inside a CUDA graph (see `create`)

    @classmethod
    def create(
        cls,
        config: TrainConfig,
        device: torch.device,
        dtype: torch.dtype | None,
        steps: int,
        compile: bool = False,
        capturable: bool = False,
    ) -> TrainState:
        """A fresh run of `config` on `device` (seeded by the caller), `steps` batches long.
        With `compile`, the model's forward is compiled by torch.compile, as CUDA graphs on CUDA
        ("reduce-overhead"); its parameters and state dict stay the eager model's. With
        `capturable` (CUDA only), the optimizer can step inside a CUDA graph: fused SGD, or
        AdamW with `capturable=True`; both take a device tensor as LR."""
        model = build_model(config.model, device).to(memory_format=torch.channels_last)
        optimizer = _optimizer(model, config, capturable)
        ema = Ema(model, config.ema) if config.ema else None  # an eager copy, made before
        graphs = compile and device.type == "cuda"
        if compile:  # one model per process at a time: forget the last one's graphs, which
            torch.compiler.reset()  # would count toward torch.compile's recompile limit
            model.compile(mode="reduce-overhead" if graphs else "default")
        return cls(
            model=model,
            optimizer=optimizer,
            scheduler=make_scheduler(optimizer, config.schedule, steps),
            scaler=torch.amp.GradScaler(device.type, enabled=dtype == torch.float16),
            sums=torch.zeros(2, device=device),
            numerics=numerics(device, dtype),
            ema=ema,
            compiled_graphs=graphs,
            capturable=capturable,
        )

    @property
    def final(self) -> nn.Module:
        """The model to validate and save: the weights' moving average if there is one."""
        return self.ema.module if self.ema is not None else self.model

    def _parts(self) -> dict[str, Any]:
        parts = {"model": self.model, "optimizer": self.optimizer, "scheduler": self.scheduler,
                 "scaler": self.scaler}  # fmt: skip
        return parts if self.ema is None else {**parts, "ema": self.ema}

    def state_dict(self) -> dict[str, Any]:
        return {name: part.state_dict() for name, part in self._parts().items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, part in self._parts().items():
            part.load_state_dict(state[name])
        _set_capturable(self.optimizer, self.capturable)  # not as the file's run had them


def _optimizer(
    model: nn.Module, config: TrainConfig, capturable: bool = False
) -> torch.optim.Optimizer:
    """SGD with (Nesterov) momentum or AdamW; weight decay on weights of convolutions and linear
    layers only. `capturable`: see `TrainState.create`."""
    params = [p for p in model.parameters() if p.requires_grad]
    optim = config.optim
    groups = [
        {"params": [p for p in params if p.ndim > 1], "weight_decay": optim.weight_decay},
        {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0},
    ]
    if optim.optimizer == "adamw":  # betas (0.9, 0.999), decoupled decay
        optimizer: torch.optim.Optimizer = torch.optim.AdamW(groups, lr=optim.lr)
    else:
        optimizer = torch.optim.SGD(
            groups, lr=optim.lr, momentum=optim.momentum, nesterov=optim.nesterov
        )
    _set_capturable(optimizer, capturable)
    return optimizer


def _set_capturable(optimizer: torch.optim.Optimizer, capturable: bool) -> None:
    """Let `optimizer` step inside a CUDA graph, or not (torch's defaults): SGD fused (one
    kernel, which reads a tensor LR on the device), AdamW capturable (its step counts kept on
    the device too)."""
    for group in optimizer.param_groups:
        if isinstance(optimizer, torch.optim.AdamW):
            group["capturable"] = capturable
        else:
            group["fused"], group["foreach"] = (True if capturable else None), None
    for param, state in optimizer.state.items():
        if "step" in state:  # where an AdamW that is capturable, or not, keeps its count
            state["step"] = state["step"].to(param.device if capturable else "cpu", torch.float32)

"""The `resnet_budget` space as it was before it knew the budget (7cabaac): a first-stage width
from a fixed list, so that many draws are over a small budget. A user's own space of this kind
must still work, and the sampler must learn to steer away from its over-budget region."""

from __future__ import annotations

import optuna

from trainers import (
    AugmentConfig,
    ModelConfig,
    OptimConfig,
    ScheduleConfig,
    TrainConfig,
)

__all__ = ["space"]


def _round8(channels: float) -> int:
    """Channel counts in multiples of 8, which tensor cores and vector units like."""
    return max(8, round(channels / 8) * 8)


def space(trial: optuna.Trial) -> TrainConfig:
    """ResNet depth and widths, block type, SE, dropout; SGD, LR schedule, CutMix."""
    stages = trial.suggest_int("stages", 2, 5)
    width = trial.suggest_categorical("width", [16, 32, 48, 64, 96, 128])
    growth = trial.suggest_categorical("width_growth", [1.0, 1.5, 2.0])
    widths = tuple(_round8(width * growth**i) for i in range(stages))
    depths = tuple(trial.suggest_int(f"blocks_{i + 1}", 1, 4) for i in range(stages))
    se_ratio = trial.suggest_categorical("se_ratio", [0.0, 0.125, 0.25])
    model = ModelConfig(
        stem_width=widths[0],
        depths=depths,
        widths=widths,
        block=trial.suggest_categorical("block", ["basic", "preact"]),
        se_ratio=se_ratio,
        dropout=trial.suggest_float("dropout", 0.0, 0.3),
    )
    optim = OptimConfig(
        lr=trial.suggest_float("lr", 0.01, 0.5, log=True),
        weight_decay=trial.suggest_float("weight_decay", 1e-5, 5e-3, log=True),
        label_smoothing=trial.suggest_float("label_smoothing", 0.0, 0.2),
        batch_size=trial.suggest_categorical("batch_size", [64, 128, 256, 512]),
    )
    name = trial.suggest_categorical("schedule", ["cosine", "step", "onecycle"])
    if name == "cosine":
        schedule = ScheduleConfig(name, warmup=trial.suggest_float("warmup", 0.0, 0.2))
    elif name == "onecycle":
        schedule = ScheduleConfig(name, pct_start=trial.suggest_float("pct_start", 0.1, 0.5))
    else:
        schedule = ScheduleConfig(name, gamma=trial.suggest_float("step_gamma", 0.05, 0.5))
    augment = AugmentConfig(cutmix_prob=trial.suggest_float("cutmix_prob", 0.0, 1.0))
    return TrainConfig(model=model, optim=optim, schedule=schedule, augment=augment)

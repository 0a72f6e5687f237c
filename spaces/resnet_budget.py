"""`resnet_budget`: CIFAR ResNets of 2 to 5 stages sized to the budget, and how to train them.

The space samples a ResNet's shape (stages, blocks per stage, how widths grow, block and shortcut
type, SE, activation, regularizers) and the fraction of the parameter budget to spend on it; the
first stage's width is then the widest multiple of 8 whose model fits that fraction, found by
bisection on the exact count. So draws spread over the budget instead of piling up far below it,
and the sampler learns which fraction pays. Everything the published designs of `spaces.zoo`
use is a value of this space.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from spaces.registry import register
from trainers import (
    AugmentConfig,
    ModelConfig,
    OptimConfig,
    ScheduleConfig,
    TrainConfig,
    count_params,
)

if TYPE_CHECKING:
    import optuna

__all__ = ["DEFAULT_BUDGET", "MIN_FRACTION", "Shape", "resnet_budget", "sample_shape", "width_cap"]

DEFAULT_BUDGET = 5_000_000  # parameters, when the space is called without a budget
MIN_FRACTION = 0.05  # least fraction of the budget a sampled model is sized to
WIDTH_CAP = 128  # widest first stage at budgets up to the default; grows as sqrt(budget) above
NARROW_STEM = 16  # channels of a narrow stem (WRN's), whatever the first stage's width
MILESTONES = {"half": (0.5, 0.75), "wrn": (0.3, 0.6, 0.8)}  # step schedules, fractions of a run


def _round8(channels: float) -> int:
    """Channel counts in multiples of 8, which tensor cores and vector units like."""
    return max(8, round(channels / 8) * 8)


def width_cap(budget: int) -> int:
    """Widest first stage the space builds at `budget`: bounds the compute of shallow models."""
    return _round8(WIDTH_CAP * math.sqrt(max(1.0, budget / DEFAULT_BUDGET)))


@dataclass(frozen=True)
class Shape:
    """Everything about a model but its width: `model(width)` builds the config."""

    depths: tuple[int, ...]  # blocks per stage
    growth: float  # width of stage i = first width * growth**i, in multiples of 8
    block: str  # "basic" or "preact"
    shortcut: str  # "projection" or "pad" (parameter-free, He et al. option A)
    narrow_stem: bool  # a 16-channel stem (WRN) instead of one as wide as the first stage
    se_ratio: float
    activation: str
    dropout: float
    stochastic_depth: float

    def model(self, width: int) -> ModelConfig:
        widths = tuple(_round8(width * self.growth**i) for i in range(len(self.depths)))
        stem = min(NARROW_STEM, widths[0]) if self.narrow_stem else widths[0]
        return ModelConfig(
            stem_width=stem, depths=self.depths, widths=widths, block=self.block,
            shortcut=self.shortcut, se_ratio=self.se_ratio, activation=self.activation,
            dropout=self.dropout, stochastic_depth=self.stochastic_depth,
        )  # fmt: skip

    def widest(self, params: int, cap: int) -> int:
        """The widest first stage, a multiple of 8 from 8 to `cap`, whose model has at most
        `params` parameters (8 if none has). Counts grow with the width: bisect."""
        low, high = 1, max(1, cap // 8)  # in units of 8 channels
        while low < high:
            mid = (low + high + 1) // 2
            if count_params(self.model(8 * mid)) <= params:
                low = mid
            else:
                high = mid - 1
        return 8 * low


def sample_shape(trial: optuna.Trial) -> Shape:
    stages = trial.suggest_int("stages", 2, 5)
    depths = tuple(trial.suggest_int(f"blocks_{i + 1}", 1, 18, log=True) for i in range(stages))
    return Shape(
        depths=depths,
        growth=trial.suggest_categorical("width_growth", [1.0, 1.5, 2.0]),
        block=trial.suggest_categorical("block", ["basic", "preact"]),
        shortcut=trial.suggest_categorical("shortcut", ["projection", "pad"]),
        narrow_stem=trial.suggest_categorical("narrow_stem", [False, True]),
        se_ratio=trial.suggest_categorical("se_ratio", [0.0, 0.125, 0.25]),
        activation=trial.suggest_categorical("activation", ["relu", "silu"]),
        dropout=trial.suggest_float("dropout", 0.0, 0.3),
        stochastic_depth=trial.suggest_float("stochastic_depth", 0.0, 0.3),
    )


def _optim(trial: optuna.Trial) -> OptimConfig:
    batch_size = trial.suggest_categorical("batch_size", [64, 128, 256, 512])
    label_smoothing = trial.suggest_float("label_smoothing", 0.0, 0.2)
    if trial.suggest_categorical("optimizer", ["sgd", "adamw"]) == "adamw":
        return OptimConfig(
            optimizer="adamw", lr=trial.suggest_float("adamw_lr", 1e-4, 1e-2, log=True),
            weight_decay=trial.suggest_float("adamw_weight_decay", 1e-3, 0.3, log=True),
            label_smoothing=label_smoothing, batch_size=batch_size,
        )  # fmt: skip
    return OptimConfig(
        optimizer="sgd", lr=trial.suggest_float("lr", 0.01, 0.5, log=True),
        nesterov=trial.suggest_categorical("nesterov", [True, False]),
        weight_decay=trial.suggest_float("weight_decay", 1e-5, 5e-3, log=True),
        label_smoothing=label_smoothing, batch_size=batch_size,
    )  # fmt: skip


def _schedule(trial: optuna.Trial) -> ScheduleConfig:
    name = trial.suggest_categorical("schedule", ["cosine", "step", "onecycle"])
    if name == "cosine":
        return ScheduleConfig(name, warmup=trial.suggest_float("warmup", 0.0, 0.2))
    if name == "onecycle":
        return ScheduleConfig(name, pct_start=trial.suggest_float("pct_start", 0.1, 0.5))
    milestones = MILESTONES[trial.suggest_categorical("milestones", list(MILESTONES))]
    gamma = trial.suggest_float("step_gamma", 0.05, 0.5)
    return ScheduleConfig(name, milestones=milestones, gamma=gamma)


def _augment(trial: optuna.Trial) -> AugmentConfig:
    """Batch mixing (CutMix, MixUp, or either at even odds) and an image policy."""
    policy = trial.suggest_categorical("policy", ["none", "trivialaugment", "randaugment"])
    mix = trial.suggest_categorical("mix", ["none", "cutmix", "mixup", "either"])
    p = 0.0 if mix == "none" else trial.suggest_float("mix_prob", 0.1, 1.0)
    cutmix = {"cutmix": p, "either": p / 2}.get(mix, 0.0)
    mixup = {"mixup": p, "either": p / 2}.get(mix, 0.0)
    return AugmentConfig(cutmix_prob=cutmix, mixup_prob=mixup, policy=policy)


@register("resnet_budget")
def resnet_budget(trial: optuna.Trial, budget: int = DEFAULT_BUDGET) -> TrainConfig:
    """ResNets sized to a sampled fraction of the budget; SGD/AdamW, LR schedule, mixing, policy."""
    shape = sample_shape(trial)
    fraction = trial.suggest_float("budget_fraction", MIN_FRACTION, 1.0)
    width = shape.widest(round(fraction * budget), width_cap(budget))
    return TrainConfig(
        model=shape.model(width), optim=_optim(trial), schedule=_schedule(trial),
        augment=_augment(trial),
    )  # fmt: skip

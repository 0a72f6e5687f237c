"""A tiny space whose first trial diverges: its learning rate makes the loss overflow."""

import optuna

from spaces import register
from trainers import ModelConfig, OptimConfig, TrainConfig


@register("diverging")
def diverging(trial: optuna.Trial) -> TrainConfig:
    width = trial.suggest_categorical("width", [8, 16])
    lr = 1e12 if trial.number == 0 else 0.1
    model = ModelConfig(stem_width=width, depths=(1, 1), widths=(width, 2 * width))
    return TrainConfig(model=model, optim=OptimConfig(lr=lr, batch_size=64))

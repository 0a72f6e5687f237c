"""A tiny space whose first trial diverges: with the largest learning rate and weight decay a
config may have, the weights grow at every step until the loss is NaN."""

import optuna

from spaces import register
from trainers import ModelConfig, OptimConfig, TrainConfig


@register("diverging")
def diverging(trial: optuna.Trial) -> TrainConfig:
    width = trial.suggest_categorical("width", [8, 16])
    model = ModelConfig(stem_width=width, depths=(1, 1), widths=(width, 2 * width))
    if trial.number == 0:
        return TrainConfig(model=model, optim=OptimConfig(lr=10, weight_decay=1, batch_size=8))
    return TrainConfig(model=model, optim=OptimConfig(lr=0.1, batch_size=64))

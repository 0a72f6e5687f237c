"""A space of tiny ResNets for tests: trains in seconds on a CPU."""

import optuna

from spaces import register
from trainers import ModelConfig, OptimConfig, TrainConfig


@register("tiny")
def tiny(trial: optuna.Trial) -> TrainConfig:
    width = trial.suggest_categorical("width", [8, 16])
    blocks = trial.suggest_int("blocks", 1, 2)
    model = ModelConfig(stem_width=width, depths=(blocks, blocks), widths=(width, 2 * width))
    optim = OptimConfig(lr=trial.suggest_float("lr", 0.05, 0.2, log=True), batch_size=64)
    return TrainConfig(model=model, optim=optim)

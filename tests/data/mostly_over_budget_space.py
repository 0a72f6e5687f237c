"""Tiny ResNets of which most are over a budget of 20,000 parameters: a driver spends most of
its time sampling and rejecting, where an interrupt is most likely to land."""

import optuna

from trainers import ModelConfig, OptimConfig, TrainConfig


def space(trial: optuna.Trial) -> TrainConfig:
    width = trial.suggest_int("width", 4, 64)
    model = ModelConfig(stem_width=4, depths=(1, 1), widths=(width, 2 * width))
    return TrainConfig(model=model, optim=OptimConfig(batch_size=64))

"""A tiny space with faults in a study named "faulty" (the probes' studies have other names):
its trial 1 raises in the space itself, its trial 2 asks for a model that no device here can
train (about 9 billion parameters: under a budget of 10**10, far over any machine's memory)."""

import optuna

from trainers import ModelConfig, OptimConfig, TrainConfig


def space(trial: optuna.Trial) -> TrainConfig:
    width = trial.suggest_categorical("width", [8, 16])
    faulty = trial.study.study_name == "faulty"
    if faulty and trial.number == 1:
        raise ZeroDivisionError("a bug in the space")
    if faulty and trial.number == 2:
        width = 12_000
    model = ModelConfig(stem_width=8, depths=(1, 1), widths=(width, 2 * width))
    return TrainConfig(model=model, optim=OptimConfig(batch_size=64))

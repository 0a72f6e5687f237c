"""A space of two models for tests of GPU sharing: three tiny trials (4 per GPU) then one whose
step fills a GPU at batch 512 (1 per GPU; search.executors.sharing), over and over."""

import optuna

from spaces import register
from trainers import ModelConfig, OptimConfig, TrainConfig

TINY = ModelConfig(stem_width=8, depths=(1, 1), widths=(8, 16)), 64
FULL = ModelConfig(stem_width=64, depths=(3, 4, 3), widths=(64, 128, 256)), 512


@register("two_sizes")
def two_sizes(trial: optuna.Trial) -> TrainConfig:
    model, batch = FULL if trial.number % 4 == 3 else TINY
    lr = trial.suggest_float("lr", 0.05, 0.2)
    return TrainConfig(model=model, optim=OptimConfig(lr=lr, batch_size=batch))

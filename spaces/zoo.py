"""The zoo: CIFAR ResNets people publish and hand-tune under a few million parameters, each with
its published training recipe, written as values of `resnet_budget`'s own parameters.

A new study of `resnet_budget` tries the designs that fit its budget first (search.warm_start),
so the search starts where a person stops and the sampler learns from them like any trial.
Each design's recipe keeps its paper's shape (optimizer, LR, decay, batch, schedule as
fractions of the run, augmentation); the run's fidelity sets the epochs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from spaces.resnet_budget import MIN_FRACTION, resnet_budget, sample_shape
from trainers import ModelConfig, TrainConfig, count_params

__all__ = ["ZOO", "Design", "designs_within"]


def _frozen(**params: Any) -> Mapping[str, Any]:
    return MappingProxyType(params)


# Recipes (resnet_budget parameters other than the model's)
_PLAIN = _frozen(se_ratio=0.0, activation="relu", dropout=0.0, stochastic_depth=0.0,
                 label_smoothing=0.0, policy="none", mix="none", batch_size=128)  # fmt: skip
# He et al. 2016: SGD 0.1, momentum 0.9, decay 1e-4, batch 128, LR / 10 at 32k and 48k of 64k steps
HE = _frozen(**_PLAIN, optimizer="sgd", lr=0.1, nesterov=False, weight_decay=1e-4,
             schedule="step", milestones="half", step_gamma=0.1)  # fmt: skip
# Zagoruyko & Komodakis 2016: SGD Nesterov 0.1, decay 5e-4, LR x 0.2 at epochs 60, 120, 160 of 200
WRN = _frozen(**_PLAIN, optimizer="sgd", lr=0.1, nesterov=True, weight_decay=5e-4,
              schedule="step", milestones="wrn", step_gamma=0.2)  # fmt: skip
# The textbook recipe (kuangliu/pytorch-cifar): SGD 0.1, momentum 0.9, decay 5e-4, cosine
TEXTBOOK = _frozen(**_PLAIN, optimizer="sgd", lr=0.1, nesterov=False, weight_decay=5e-4,
                   schedule="cosine", warmup=0.0)  # fmt: skip
# The best report this product is for (96.9%, 3.8M): dropout, MixUp or CutMix on every batch
# (even odds), RandAugment, label smoothing 0.1, SGD Nesterov 0.1, batch 128, warm-up + cosine
REPORT = _frozen(se_ratio=0.0, activation="relu", dropout=0.1, stochastic_depth=0.0,
                 label_smoothing=0.1, policy="randaugment", mix="either", mix_prob=1.0,
                 batch_size=128, optimizer="sgd", lr=0.1, nesterov=True, weight_decay=5e-4,
                 schedule="cosine", warmup=0.05)  # fmt: skip


def _resnet(blocks: tuple[int, ...], block: str, shortcut: str, narrow_stem: bool = False,
            growth: float = 2.0) -> dict[str, Any]:  # fmt: skip
    """The model's parameters: stages, blocks per stage, growth, block, shortcut, stem."""
    params: dict[str, Any] = {"stages": len(blocks)}
    params.update({f"blocks_{i + 1}": n for i, n in enumerate(blocks)})
    return {**params, "width_growth": growth, "block": block, "shortcut": shortcut,
            "narrow_stem": narrow_stem}  # fmt: skip


@dataclass(frozen=True)
class Design:
    """A published design: the width of its first stage and every other parameter of
    `resnet_budget`; `budget_fraction` follows from its count and the run's budget."""

    name: str
    source: str  # paper (and reference implementation) whose model and recipe it is
    width: int  # channels of the first stage
    params: Mapping[str, Any] = field(repr=False, compare=False)  # hashed by name

    @property
    def model(self) -> ModelConfig:
        from optuna.trial import FixedTrial  # optuna: loaded when a design is built, not before

        return sample_shape(FixedTrial(dict(self.params))).model(self.width)

    @property
    def n_params(self) -> int:
        return count_params(self.model)

    @property
    def blocks(self) -> int:
        """Residual blocks in all: the sequential depth that sets a step's time."""
        return sum(self.params[f"blocks_{i + 1}"] for i in range(self.params["stages"]))

    def trial_params(self, budget: int) -> dict[str, Any]:
        """The parameters of the `resnet_budget` trial that is this design at `budget`."""
        return {**self.params, "budget_fraction": self.n_params / budget}

    def config(self, budget: int | None = None) -> TrainConfig:
        """The design as `resnet_budget` builds it at `budget` (default: its own size), recipe
        included."""
        from optuna.trial import FixedTrial

        budget = budget or self.n_params
        return resnet_budget(FixedTrial(self.trial_params(budget)), budget)


def _he(depth: int) -> Design:
    n = (depth - 2) // 6
    params = {**_resnet((n, n, n), "basic", "pad"), **HE}
    return Design(
        f"ResNet-{depth}", "He et al. 2016, CIFAR ResNet (option A shortcuts)", 16, params
    )


def _wrn(depth: int, k: int) -> Design:
    n = (depth - 4) // 6
    params = {**_resnet((n, n, n), "preact", "projection", narrow_stem=True), **WRN}
    return Design(f"WRN-{depth}-{k}", "Zagoruyko & Komodakis 2016, wide ResNet", 16 * k, params)


def _stage3(n: int) -> Design:
    params = {**_resnet((n, n, n), "basic", "projection"), **TEXTBOOK}
    return Design(f"ResNet-3x{n}-64", "3-stage ResNet of 64/128/256 channels, textbook recipe",
                  64, params)  # fmt: skip


ZOO: tuple[Design, ...] = (
    *(_he(depth) for depth in (20, 32, 56, 110)),
    *(_wrn(depth, k) for depth, k in ((16, 2), (16, 4), (28, 2), (40, 1))),
    Design("ResNet-18/2", "He et al. 2015 ResNet-18 at half width (kuangliu/pytorch-cifar)", 32,
           {**_resnet((2, 2, 2, 2), "basic", "projection"), **TEXTBOOK}),
    Design("PreAct-18/2", "He et al. 2016 pre-activation ResNet-18 at half width", 32,
           {**_resnet((2, 2, 2, 2), "preact", "projection"), **TEXTBOOK}),
    *(_stage3(n) for n in (2, 3, 4, 5)),
    Design("PreAct-62", "pre-activation ResNet, 3 stages x 10 blocks of 32/64/128, the 96.9% "
           "report's recipe", 32, {**_resnet((10, 10, 10), "preact", "projection"), **REPORT}),
)  # fmt: skip


def designs_within(budget: int) -> tuple[list[Design], list[Design]]:
    """The designs `resnet_budget` can be at `budget` (at most the budget and at least
    MIN_FRACTION of it), fewest blocks first, and the others.

    A study tries them in that order. Wide and shallow first: a step's time grows with the
    blocks run one after another (on a GPU at the batches searched, a step waits on kernel
    launches, one per layer), and at a similar count a wide, shallow ResNet matched a thin, deep
    one's accuracy and trained several times faster (Zagoruyko & Komodakis 2016). So the first
    answers come soonest and are among the best; ties keep the zoo's order."""
    fit = sorted((d for d in ZOO if MIN_FRACTION * budget <= d.n_params <= budget),
                 key=lambda d: d.blocks)  # fmt: skip
    return fit, [d for d in ZOO if d not in fit]

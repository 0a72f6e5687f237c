"""What each training knob of issue 13 costs in training images/s, as a ratio to the defaults.

A small ResNet (basic, 3 stages (2,2,2) x (32,64,128), 0.7M parameters) trains 1 epoch on 2,048
real CIFAR-10 images, batch 128, once per knob per round, after one warm-up run; each round
starts with another knob, so the machine's noise hits all alike, and each ratio is taken against
the default run of the same round. Medians over `--rounds`.

    python bench/knob_cost.py [--rounds 3] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics

import torch

from trainers import DataConfig, ModelConfig, OptimConfig, TrainConfig, train

BASE = TrainConfig(
    model=ModelConfig(stem_width=32, depths=(2, 2, 2), widths=(32, 64, 128)),
    optim=OptimConfig(batch_size=128),
    data=DataConfig(val_size=256, train_subset=2048),
    epochs=1,
)
KNOBS = {
    "defaults (projection, relu, sgd nesterov)": {},
    "shortcut pad": {"model": {"shortcut": "pad"}},
    "activation silu": {"model": {"activation": "silu"}},
    "stochastic_depth 0.2": {"model": {"stochastic_depth": 0.2}},
    "optimizer adamw": {"optim": {"optimizer": "adamw", "lr": 1e-3}},
    "cutmix every batch": {"augment": {"cutmix_prob": 1.0}},
    "mixup every batch": {"augment": {"mixup_prob": 1.0}},
    "trivialaugment": {"augment": {"policy": "trivialaugment"}},
    "randaugment (2 ops, 9)": {"augment": {"policy": "randaugment"}},
}


def variant(changes: dict[str, dict[str, object]]) -> TrainConfig:
    parts = {key: dataclasses.replace(getattr(BASE, key), **kw) for key, kw in changes.items()}
    return dataclasses.replace(BASE, **parts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    speed: dict[str, list[float]] = {name: [] for name in KNOBS}
    ratio: dict[str, list[float]] = {name: [] for name in KNOBS}
    train(BASE, device=args.device)  # warm-up: data loaded and cached, kernels picked
    names = list(KNOBS)
    for r in range(args.rounds):
        for name in names[r:] + names[:r]:  # each round starts with another knob
            speed[name].append(train(variant(KNOBS[name]), device=args.device).images_per_s)
        base = speed[names[0]][-1]
        for name in KNOBS:
            ratio[name].append(speed[name][-1] / base)
    print(f"torch threads {torch.get_num_threads()}, {args.rounds} rounds; median img/s, ratio")
    for name in KNOBS:
        print(f"{name:<42} {statistics.median(speed[name]):8.0f} "
              f"{statistics.median(ratio[name]):6.2f}")  # fmt: skip


if __name__ == "__main__":
    main()

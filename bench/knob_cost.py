"""What each training knob costs in training images per second, as a ratio to the defaults.

Every knob of issue 13 (shortcut, activation, stochastic depth, optimizer, Nesterov, MixUp,
TrivialAugment, RandAugment; CutMix for reference) changes one field of the same small config;
"all on" turns every one on together. Each is trained by `trainers.loop.fit` (autocast as the
trainer picks it here) on a few hundred real CIFAR-10 images, and its images/s read as `fit`
reports it (evaluation excluded). The machine is shared and noisy, so the configs take turns,
round after round, and each figure is the median of its rounds' epochs after the first; ratios
are to the default config measured in the same rounds. One torch thread by default: on cores
that other processes share, two threads waiting on each other made single epochs 20x slower.
On CUDA (`--device cuda`) each step is a CUDA graph, as trials train there by default, so what a
knob costs the data path around it shows in full.

    python bench/knob_cost.py [--images 512] [--rounds 4] [--epochs 3] [--threads 1]
    python3 bench/knob_cost.py --device cuda --images 10000 --rounds 2  # a GPU machine
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import torch

from trainers import ModelConfig, OptimConfig, TrainConfig, autocast_dtype
from trainers.config import DataConfig
from trainers.counting import count_params
from trainers.data import split
from trainers.loop import fit, prepare
from trainers.step import use_graphs

MODEL = ModelConfig(32, (1, 1, 1), (32, 64, 128))  # bench/trainer_throughput.py's small model
BATCH = 128


def knobs() -> dict[str, tuple[str, dict[str, dict[str, object]]]]:
    """name -> (what changes, {section: fields}) against the default config."""
    every = {
        "model": {"shortcut": "pad", "activation": "silu", "stochastic_depth": 0.2},
        "optim": {"optimizer": "adamw", "lr": 2e-3},
        "augment": {"cutmix_prob": 0.5, "mixup_prob": 0.5, "policy": "randaugment"},
    }
    trivial, rand = {"policy": "trivialaugment"}, {"policy": "randaugment"}
    return {
        "default": ("today's defaults", {}),
        "pad shortcut": ("model.shortcut pad", {"model": {"shortcut": "pad"}}),
        "SiLU": ("model.activation silu", {"model": {"activation": "silu"}}),
        "ELU": ("model.activation elu", {"model": {"activation": "elu"}}),
        "stochastic depth": ("model.stochastic_depth 0.2", {"model": {"stochastic_depth": 0.2}}),
        "AdamW": ("optim.optimizer adamw", {"optim": {"optimizer": "adamw", "lr": 2e-3}}),
        "SGD, no Nesterov": ("optim.nesterov false", {"optim": {"nesterov": False}}),
        "CutMix (reference)": ("augment.cutmix_prob 1", {"augment": {"cutmix_prob": 1.0}}),
        "MixUp": ("augment.mixup_prob 1", {"augment": {"mixup_prob": 1.0}}),
        "TrivialAugment": ("augment.policy trivialaugment", {"augment": trivial}),
        "RandAugment 2 x 9": ("augment.policy randaugment", {"augment": rand}),
        "RandAugment 5 x 9": ("... randaugment_ops 5", {"augment": {**rand, "randaugment_ops": 5}}),
        "all on": ("pad, SiLU, depth 0.2, AdamW, CutMix/MixUp 0.5/0.5, RandAugment 2 x 9", every),
    }


def config_of(change: dict[str, dict[str, object]], images: int, epochs: int) -> TrainConfig:
    data = DataConfig(val_size=100, train_subset=images)
    base = TrainConfig(MODEL, OptimConfig(batch_size=BATCH, lr=0.05), data=data, epochs=epochs)
    sections = {name: dataclasses.replace(getattr(base, name), **fields)
                for name, fields in change.items()}  # fmt: skip
    return dataclasses.replace(base, **sections)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args()
    if args.epochs < 2:  # the first epoch of each round is warm-up, left out of the median
        parser.error(f"--epochs must be at least 2, got {args.epochs}")
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    dtype = autocast_dtype(device, "auto")
    graphs = use_graphs(None, device, dtype, compile=False)
    table = knobs()
    configs = {name: config_of(change, args.images, args.epochs)
               for name, (_, change) in table.items()}  # fmt: skip
    cifar, _ = prepare(None, device, "auto")  # as a trial gets it (cuDNN's autotuner on CUDA)
    data = split(cifar, configs["default"].data)
    print(f"{args.images:,} CIFAR-10 images, batch {BATCH}, {count_params(MODEL):,} params, "
          f"{device}, {torch.get_num_threads()} threads, autocast {dtype}, CUDA graphs {graphs}, "
          f"{args.rounds} rounds x {args.epochs} epochs", flush=True)  # fmt: skip
    rates: dict[str, list[float]] = {name: [] for name in table}
    start = time.perf_counter()
    for done in range(1, args.rounds + 1):  # every knob in each round: drift hits them alike
        for name, config in configs.items():
            run: list[float] = []
            fit(config, data, lambda e, v, run=run, **m: run.append(m["images_per_s"]), dtype,
                graphs=graphs)  # fmt: skip
            rates[name].extend(run[1:])  # the first epoch warms up
        print(f"\nafter round {done} of {args.rounds}, {time.perf_counter() - start:.0f} s:")
        print_table(table, rates)  # so far: a run cut short keeps what it measured


def print_table(table: dict[str, tuple[str, dict]], rates: dict[str, list[float]]) -> None:
    """Each knob's median images/s so far, and its ratio to the default's."""
    base = statistics.median(rates["default"])
    print("| knob | change | img/s (median) | ratio to default |\n|---|---|---:|---:|")
    for name, (change, _) in table.items():
        rate = statistics.median(rates[name])
        print(f"| {name} | {change} | {rate:,.0f} | {rate / base:.2f} |", flush=True)


if __name__ == "__main__":
    main()

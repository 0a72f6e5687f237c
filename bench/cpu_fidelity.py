"""Wall time of one trial at the default CPU fidelity, for models of the space near 5M params.

Without a GPU the default fidelity must finish a 5M-parameter trial in one to two minutes on
2 CPU cores. Time depends on compute, not parameters, so this samples configs of
`resnet_budget` with 4M to 5M parameters (seeded), counts their multiply-accumulates, and
trains the lightest, the median and the heaviest at that fidelity, as `search run` would,
without pruning.

    python bench/cpu_fidelity.py [--samples 2000] [--data-dir DIR]
"""

from __future__ import annotations

import argparse

import optuna
import torch

from search.fidelity import default_fidelity
from spaces import get_space, probe
from trainers import count_params
from trainers.counting import count_macs
from trainers.loop import train


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    fidelity = default_fidelity(torch.device("cpu"))
    print(f"fidelity: {fidelity.describe()}; torch threads: {torch.get_num_threads()}")
    near_5m = [
        fidelity.apply(config)
        for _, config in probe(get_space("resnet_budget"), args.samples, seed=0)
        if 4_000_000 <= count_params(config.model) <= 5_000_000
    ]
    ranked = sorted(near_5m, key=lambda c: count_macs(c.model))
    print(f"{len(ranked)} of {args.samples} sampled configs have 4M to 5M parameters")
    for label, config in [("lightest", ranked[0]), ("median", ranked[len(ranked) // 2]),
                          ("heaviest", ranked[-1])]:  # fmt: skip
        m = train(config, data_dir=args.data_dir, device="cpu")
        model = config.model
        print(
            f"{label:<8} {m.n_params:>9,} params {count_macs(model) / 1e9:5.2f} GMACs  "
            f"{model.block} {model.depths} x {model.widths}, batch {config.optim.batch_size}: "
            f"{m.wall_s:6.1f} s, {m.images_per_s:4.0f} train img/s, val acc {m.val_accuracy:.3f}"
        )


if __name__ == "__main__":
    main()

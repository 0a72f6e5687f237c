"""Wall time of one trial at the default CPU fidelity, for models of the space near 5M params.

The default fidelity without a GPU must finish a 5M-parameter trial in one to two minutes on
2 CPU cores. This samples configs of `resnet_budget` between 4M and 5M parameters (seeded) and
trains each at that fidelity, as `search run` would, without pruning.

    python bench/cpu_fidelity.py [--models 3] [--data-dir DIR]
"""

from __future__ import annotations

import argparse

import optuna
import torch

from search.fidelity import default_fidelity
from spaces import call_space, get_space
from trainers import count_params, train


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=3)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    fidelity = default_fidelity(torch.device("cpu"))
    print(f"fidelity: {fidelity.describe()}; torch threads: {torch.get_num_threads()}")
    space = get_space("resnet_budget")
    probe = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    configs = []
    while len(configs) < args.models:
        trial = probe.ask()
        config = fidelity.apply(call_space(space, trial))
        probe.tell(trial, 0.0)
        if 4_000_000 <= count_params(config.model) <= 5_000_000:
            configs.append(config)
    for config in configs:
        m = train(config, data_dir=args.data_dir, device="cpu")
        model = config.model
        print(
            f"{m.n_params:>10,} params  {model.block:<6} depths {model.depths} widths "
            f"{model.widths} batch {config.optim.batch_size}: {m.wall_s:6.1f} s, "
            f"{m.images_per_s:5.0f} train img/s, val acc {m.val_accuracy:.3f}"
        )


if __name__ == "__main__":
    main()
